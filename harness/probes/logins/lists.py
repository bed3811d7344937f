"""The pairs to try on one endpoint, likeliest first, and the secrets they carry.

The organisation's declared credentials (known-bad passwords it must never see accepted) come
first, then vendor defaults, then the weak-password list against the declared (or each kind's
default) usernames. Only passwords from the shipped
public lists may ever be shown; everything else is masked wherever it appears.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from harness.inventory import LoginEndpoint
from harness.probes.logins.model import Category

MASK = "******"


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
            return f"{MASK} ({self.source})"
        return self.password if self.password else "(empty)"


@cache
def _data(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(
        resources.files("harness.data").joinpath(name).read_text(encoding="utf-8")
    )
    return loaded


def family(kind: str) -> str:
    """The list family of a login kind: every HTTP kind shares the 'http' lists."""
    return "http" if kind.startswith("http") else kind


def default_usernames(kind: str) -> list[str]:
    return list(_data("default_credentials.yaml")["usernames"][family(kind)])


def weak_passwords() -> list[str]:
    return [str(p) for p in _data("weak_passwords.yaml")["passwords"]]


def policy_data() -> dict[str, Any]:
    return _data("password_policies.yaml")


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
        if cred.password_env:
            where = f"declared credential for {cred.username!r} from ${cred.password_env}"
            value = os.environ.get(cred.password_env)
            if value is None:
                raise ListError(
                    f"environment variable {cred.password_env} (credential {cred.username!r}) "
                    "is not set"
                )
        else:
            assert cred.password_file is not None
            path = _resolve(cred.password_file, base_dir)
            where = f"declared credential for {cred.username!r} from file {cred.password_file}"
            try:
                value = path.read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as exc:
                raise ListError(
                    f"password_file {cred.password_file} (credential {cred.username!r}) "
                    f"cannot be read: {exc.strerror}"
                ) from None
        out.append(Candidate(cred.username, value, Category.DECLARED, where, public=False))
    return out


def weak_pairs(endpoint: LoginEndpoint, base_dir: Path | None) -> list[Candidate]:
    if endpoint.passwords_file is not None:
        path = _resolve(endpoint.passwords_file, base_dir)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ListError(
                f"passwords_file {endpoint.passwords_file} cannot be read: {exc.strerror}"
            ) from None
        words = [w for w in lines if w and not w.startswith("#")]
        source, public = f"passwords_file {endpoint.passwords_file}", False
    else:
        words, source, public = weak_passwords(), "the shipped weak-password list", True
    # password-major order: the most common password is tried on every username first
    return [
        Candidate(user, word, Category.WEAK, source, public=public)
        for word in words
        for user in usernames(endpoint)
    ]


def plan(endpoint: LoginEndpoint, base_dir: Path | None) -> list[Candidate]:
    """Every pair for the endpoint, likeliest first, each (username, password) once."""
    seen: set[tuple[str, str]] = set()
    out: list[Candidate] = []
    for cand in [
        *declared(endpoint, base_dir),  # the organisation asked for these: always in budget
        *default_pairs(endpoint.kind),
        *weak_pairs(endpoint, base_dir),
    ]:
        if (cand.username, cand.password) not in seen:
            seen.add((cand.username, cand.password))
            out.append(cand)
    return out


def _resolve(path: Path, base_dir: Path | None) -> Path:
    return path if path.is_absolute() or base_dir is None else base_dir / path
