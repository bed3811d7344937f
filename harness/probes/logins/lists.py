"""The pairs to try on one endpoint, in the order the budget is spent, and the secrets they carry.

The organisation's declared credentials (known-bad passwords it must never see accepted) come
first. Then the vendor defaults and the weak-password list take turns, after each list has
reached the minimum its check needs to pass (`VENDOR_MINIMUM`, `WEAK_MINIMUM`): a small budget
is shared, never spent on one list while the other gets nothing. The weak list runs
password-major over the declared (or each kind's default) usernames. Only passwords from the
shipped public lists may ever be shown; everything else is masked wherever it appears.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from harness import credentials, redact
from harness.data import load_yaml
from harness.data.passwords import weak_passwords
from harness.inventory import LoginEndpoint
from harness.probes.logins.model import Category

Pair = tuple[str, str]
VENDOR_MINIMUM = 1  # vendor pairs tried before login.default_credentials may pass
WEAK_MINIMUM = 3  # top weak passwords tried for every username before login.weak_password may pass


class ListError(Exception):
    """A declared list or secret cannot be read; the message names it, never its content."""


@dataclass(frozen=True)
class Candidate:
    username: str
    password: str = field(repr=False)
    category: Category
    source: str
    public: bool = True
    product: str | None = None

    @property
    def shown(self) -> str:
        if not self.public:
            return f"{redact.MASK} ({self.source})"
        return self.password if self.password else "(empty)"


@cache
def _data(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = load_yaml(
        resources.files("harness.data").joinpath(name).read_text(encoding="utf-8")
    )
    return loaded


def family(kind: str) -> str:
    """The list family of a login kind: every HTTP kind shares the 'http' lists."""
    return "http" if kind.startswith("http") else kind


def default_usernames(kind: str) -> list[str]:
    return list(_data("default_credentials.yaml")["usernames"][family(kind)])


def default_pairs(kind: str) -> list[Candidate]:
    data = _data("default_credentials.yaml")
    titles = {key: src["title"] for key, src in data["sources"].items()}
    out: list[Candidate] = []
    for entry in data["pairs"][family(kind)]:
        source = "; ".join(titles[s] for s in entry["sources"])
        out.append(
            Candidate(
                str(entry["username"]),
                str(entry["password"]),
                Category.DEFAULT,
                source,
                product=entry.get("product"),
            )
        )
    return out


def usernames(endpoint: LoginEndpoint) -> list[str]:
    return list(endpoint.usernames) if endpoint.usernames else default_usernames(endpoint.kind)


def declared(endpoint: LoginEndpoint, base_dir: Path | None) -> list[Candidate]:
    """The organisation's own credentials, read from the environment or a file at run time."""
    out: list[Candidate] = []
    for cred in endpoint.credentials:
        where = (
            f"declared credential for {cred.username!r} from ${cred.password_env}"
            if cred.password_env
            else f"declared credential for {cred.username!r} from file {cred.password_file}"
        )
        try:
            value = credentials.read(cred, base_dir)  # registered with the mask as it is read
        except credentials.CredentialError as exc:
            raise ListError(str(exc)) from None
        out.append(Candidate(cred.username, value, Category.DECLARED, where, public=False))
    return out


def weak_words(endpoint: LoginEndpoint, base_dir: Path | None) -> tuple[list[str], str, bool]:
    """The weak-password list of the endpoint: (words, source, public)."""
    if endpoint.passwords_file is None:
        return weak_passwords(), "the shipped weak-password list", True
    path = credentials.resolve(endpoint.passwords_file, base_dir)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ListError(
            f"passwords_file {endpoint.passwords_file} cannot be read: {exc.strerror}"
        ) from None
    words = [w for w in lines if w and not w.startswith("#")]
    return words, f"passwords_file {endpoint.passwords_file}", False


def weak_turns(endpoint: LoginEndpoint, base_dir: Path | None) -> list[list[Candidate]]:
    """One turn per weak password, most common first: that password for every username."""
    words, source, public = weak_words(endpoint, base_dir)
    return [
        [
            Candidate(user, word, Category.WEAK, source, public=public)
            for user in usernames(endpoint)
        ]
        for word in words
    ]


def interleave(
    vendor: list[Candidate], weak: list[list[Candidate]], seen: set[Pair] | None = None
) -> list[Candidate]:
    """The order of the public lists: each list's minimum first, then the two take turns.

    The first weak turn, the first VENDOR_MINIMUM vendor pairs, the weak turns up to
    WEAK_MINIMUM; then one weak turn (the next password for every username) and one vendor
    pair in alternation, until both lists are spent. A pair already in `seen` (or placed
    before) is left out, and a vendor turn then takes the next new pair.
    """
    seen = set() if seen is None else seen
    out: list[Candidate] = []
    vendors, turns = iter(vendor), iter(weak)

    def weak_turn() -> bool:
        turn = next(turns, None)
        out.extend(_new(turn or [], seen))
        return turn is not None

    def vendor_turn() -> bool:
        for pair in vendors:
            if _new([pair], seen):
                out.append(pair)
                return True
        return False

    weak_turn()
    for _ in range(VENDOR_MINIMUM):
        vendor_turn()
    for _ in range(WEAK_MINIMUM - 1):
        weak_turn()
    while weak_turn() | vendor_turn():  # both, every round, until both are spent
        pass
    return out


def _new(cands: list[Candidate], seen: set[Pair]) -> list[Candidate]:
    out = [c for c in cands if (c.username, c.password) not in seen]
    seen.update((c.username, c.password) for c in out)
    return out


@dataclass(frozen=True)
class Lists:
    """The three lists of one endpoint, and what a set of tried pairs covers of them."""

    declared: list[Candidate]
    vendor: list[Candidate]
    weak: list[list[Candidate]]  # one turn per weak password: it, for every username
    usernames: list[str]

    def plan(self) -> list[Candidate]:
        """Every pair in the order to try them, each (username, password) once."""
        seen: set[Pair] = set()
        # the organisation asked for its own credentials: always in budget, first
        first = _new(self.declared, seen)
        return first + interleave(self.vendor, self.weak, seen)

    def as_listed(self, cand: Candidate) -> Candidate:
        """A pair on the vendor list is reported as the vendor default it is, whichever list
        it was tried for."""
        if cand.category is Category.DECLARED:
            return cand  # the organisation's secret stays masked, whatever it equals
        pair = (cand.username, cand.password)
        return next((v for v in self.vendor if (v.username, v.password) == pair), cand)

    @property
    def vendor_minimum(self) -> int:
        return min(VENDOR_MINIMUM, len(self.vendor))

    @property
    def weak_minimum(self) -> int:
        return min(WEAK_MINIMUM, len(self.weak))

    def depth(self, tried: set[Pair]) -> dict[str, int]:
        """Per username, how many of the top weak passwords were all tried for it."""
        out: dict[str, int] = {}
        for user in self.usernames:
            n = 0
            for turn in self.weak:
                if not any(c.username == user and (user, c.password) in tried for c in turn):
                    break
                n += 1
            out[user] = n
        return out

    def counts(self, tried: set[Pair]) -> tuple[dict[str, int], dict[str, int]]:
        """(pairs tried, pairs listed) per category; a pair counts on every list it is on."""
        weak = [c for turn in self.weak for c in turn]
        lists = {
            Category.DECLARED: self.declared,
            Category.DEFAULT: self.vendor,
            Category.WEAK: weak,
        }
        hit = {k.value: sum((c.username, c.password) in tried for c in v) for k, v in lists.items()}
        return hit, {k.value: len(v) for k, v in lists.items()}

    def vendor_met(self, tried: set[Pair]) -> bool:
        return self.counts(tried)[0][Category.DEFAULT.value] >= self.vendor_minimum

    def weak_met(self, tried: set[Pair]) -> bool:
        return all(n >= self.weak_minimum for n in self.depth(tried).values())


def lists_for(endpoint: LoginEndpoint, base_dir: Path | None) -> Lists:
    return Lists(
        declared(endpoint, base_dir),
        default_pairs(endpoint.kind),
        weak_turns(endpoint, base_dir),
        usernames(endpoint),
    )


def plan(endpoint: LoginEndpoint, base_dir: Path | None) -> list[Candidate]:
    """Every pair for the endpoint in the order to try them, each (username, password) once."""
    return lists_for(endpoint, base_dir).plan()
