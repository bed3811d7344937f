"""The scope gate: a probe contacts only the origins that targets.yaml declared for the endpoint.

A server chooses where a client goes next (a form's action, a `Location`, a link), and a page on
a host we scan is not a host we own. So before any request, the destination's scheme, host and
port are held against the declared origins of the endpoint under probe; anything else is not
contacted, and the check says which destination it refused and how to declare it. The origins
are set per endpoint with `declared(...)`; a request made while none are set is refused too, so
a new code path cannot skip the gate by forgetting it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import NamedTuple
from urllib.parse import urlsplit

from harness.errors import FailureKind

_DEFAULT_PORTS = {"http": 80, "https": 443}


class Origin(NamedTuple):
    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


class OutOfScope(Exception):
    """A destination outside the declared origins; never contacted."""

    kind = FailureKind.SCOPE

    def __init__(self, url: str, allowed: frozenset[Origin], what: str) -> None:
        self.url = url
        declared = ", ".join(sorted(str(o) for o in allowed)) or "none"
        self.reason = (
            f"{what} points at {_show(url)}, outside the origins declared for this endpoint "
            f"({declared}), so it was not contacted and no credential was sent there. Fix: if "
            "that server is yours and in scope, declare it (as the login's url, protected_url "
            "or password_policy url); otherwise the page is steering clients off the host"
        )
        super().__init__(self.reason)


def origin(url: str) -> Origin | None:
    """The origin of an absolute http(s) URL; None for anything else (a bad port included)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return Origin(scheme, parts.hostname.lower().rstrip("."), port or _DEFAULT_PORTS[scheme])


_ALLOWED: ContextVar[frozenset[Origin] | None] = ContextVar("harness_scope", default=None)


@contextmanager
def declared(urls: Iterable[str | None]) -> Iterator[frozenset[Origin]]:
    """Requests inside this block may go to the origins of these declared URLs, and only there."""
    allowed = frozenset(o for o in (origin(u) for u in urls if u) if o is not None)
    token = _ALLOWED.set(allowed)
    try:
        yield allowed
    finally:
        _ALLOWED.reset(token)


def check(url: str, what: str = "the request") -> None:
    """Raise OutOfScope unless `url` is on a declared origin of the endpoint under probe."""
    allowed = _ALLOWED.get()
    if allowed is None:
        raise OutOfScope(url, frozenset(), f"{what} (made outside any declared endpoint)")
    if origin(url) not in allowed:
        raise OutOfScope(url, allowed, what)


def allows(url: str) -> bool:
    allowed = _ALLOWED.get()
    return allowed is not None and origin(url) in allowed


def _show(url: str, limit: int = 200) -> str:
    """The refused destination, without any userinfo and cut to a readable length."""
    try:
        parts = urlsplit(url)
        if parts.username is not None or parts.password is not None:
            url = parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()
    except ValueError:
        pass
    return url if len(url) <= limit else url[:limit] + "..."
