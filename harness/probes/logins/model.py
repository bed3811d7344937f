"""What the logins probe measures: one frozen result per login endpoint.

Parts that can fail on their own (guessing, anonymous access, lockout, the password-setting
endpoint) are each a result or a `ProbeFailure`, so an ambiguous login endpoint leaves its
guessing checks broken while its cleartext check can still be judged. `None` means the part
does not apply (lockout not opted in, no protected URL declared).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from harness.errors import CouldNotMeasure, FailureKind, ProbeFailure


class Unmeasurable(Exception):
    """Raised by a login client when the endpoint cannot be measured; becomes a ProbeFailure."""

    def __init__(self, kind: FailureKind, reason: str) -> None:
        self.kind = kind
        self.reason = reason
        super().__init__(reason)


class Category(StrEnum):
    DEFAULT = "default"  # a vendor default pair from a public list
    WEAK = "weak"  # a common password from the weak-password list
    DECLARED = "declared"  # an organisation credential from the environment or a file


@dataclass(frozen=True)
class Answer:
    """How the endpoint answered one attempt.

    `accepted` is None when the endpoint declares no success signal: the engine then compares
    `shape` (status, redirect, cookie names) with the control attempt's.
    """

    accepted: bool | None
    detail: str
    shape: tuple[str, ...] = ()
    signals: tuple[str, ...] = ()  # lockout or throttling signals; "text: ..." ones are soft
    latency: float = 0.0
    elsewhere: str = ""  # an undeclared destination the answer redirects to (never followed)


@dataclass(frozen=True)
class Hit:
    username: str
    password: str  # the password as it may be shown: verbatim from a public list, else masked
    category: Category
    source: str
    detail: str
    product: str | None = None


@dataclass(frozen=True)
class Coverage:
    """How far guessing got on each list: what a pass may claim, or what it lacks.

    A pair counts for every list it is on, whichever list it was tried for.
    """

    tried: dict[str, int]  # category -> pairs of that list tried
    listed: dict[str, int]  # category -> pairs on that list
    depth: dict[str, int]  # username -> how many of the top weak passwords were all tried for it
    needed: dict[str, int | None]  # category -> the budget that reaches its minimum, if any does
    vendor_minimum: int = 0  # the minimum of each list, capped by the list's length
    weak_minimum: int = 0


@dataclass(frozen=True)
class Guesses:
    """Declared, default and weak pairs tried, in plan order, within the attempt budget."""

    hit: Hit | None
    coverage: Coverage
    control: str  # how the endpoint answered the random wrong password
    budget: int = 0
    stopped: str | None = None  # why guessing ended before the lists did
    notes: tuple[str, ...] = ()
    no_passwords: str | None = None  # why no password can be tried at all (a measured answer)

    @property
    def tried(self) -> dict[str, int]:
        return self.coverage.tried


@dataclass(frozen=True)
class Anonymous:
    allowed: bool
    what: str  # "FTP anonymous login", "GET http://.../admin without credentials"
    detail: str


@dataclass(frozen=True)
class Lockout:
    username: str
    threshold: int
    failures: int  # failed attempts made against this username in this run
    signal: str | None  # first lockout, throttling or CAPTCHA signal seen
    signal_after: int | None  # failures made before the signal
    first_latency: float
    last_latency: float
    skipped: str | None = None  # why the lockout attempts were not made


@dataclass(frozen=True)
class PolicySample:
    password: str  # a public sample password (never a secret)
    accepted: bool
    detail: str


@dataclass(frozen=True)
class CreatedAccount:
    """An account the password-policy probe created (a registration that was accepted)."""

    username: str
    endpoint: str
    deleted: bool | None = None  # None: no deletion URL declared, so it is still there
    detail: str = ""


def left_behind(accounts: tuple[CreatedAccount, ...]) -> str:
    """'created 3 accounts at URL (a, b, c); deleted all 3' or which are still there."""
    if not accounts:
        return ""
    where = accounts[0].endpoint
    names = ", ".join(a.username for a in accounts)
    text = f"created {len(accounts)} accounts at {where} ({names})"
    kept = [a for a in accounts if not a.deleted]
    if not kept:
        return f"{text}; deleted all {len(accounts)} through the declared delete_url"
    if all(a.deleted is None for a in accounts):
        return f"{text}; they are still there: remove them (or declare delete_url)"
    why = "; ".join(f"{a.username}: {a.detail}" for a in kept)
    return f"{text}; {len(kept)} could not be deleted, remove them ({why})"


@dataclass(frozen=True)
class PasswordPolicyResult:
    url: str
    policy: str
    mfa: bool
    samples: tuple[PolicySample, ...]
    control: str  # how a strong random password was answered
    created: tuple[CreatedAccount, ...] = ()


@dataclass(frozen=True)
class Channel:
    encrypted: bool
    description: str  # "HTTPS", "plain HTTP", "FTP without TLS", "SSH"
    problems: tuple[str, ...] = ()  # each a way credentials travel in cleartext
    # the server's identity was checked (a verified certificate, a pinned SSH host key), so
    # declared credentials may go to it; None: not checked, with `unverified` saying why
    unverified: str | None = None
    host_key: str | None = None  # the SSH host key fingerprint seen (SHA256:...)


@dataclass(frozen=True)
class LoginResult:
    kind: str
    label: str
    channel: Channel
    guesses: Guesses | ProbeFailure
    anonymous: Anonymous | ProbeFailure | None
    lockout: Lockout | ProbeFailure | None
    password_policy: PasswordPolicyResult | ProbeFailure | None
    attempts: int
    budget: int
    address: str = ""  # the address of the name that answered (what a client would reach)


T = TypeVar("T")


def require(part: T | ProbeFailure) -> T:
    """A measured part, or CouldNotMeasure (raised from a fixture, so the test ends broken)."""
    if isinstance(part, ProbeFailure):
        raise CouldNotMeasure(part)
    return part
