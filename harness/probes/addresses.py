"""Every address of a declared name: resolved once, when the run is planned.

A name behind DNS round robin or a load-balancer pool can have one healthy backend and one
broken one, so TLS, ports and banners probe each address (as SSL Labs and testssl.sh do), IPv4
and IPv6, unless the target says `addresses: first`. An address of a family this machine has no
route for is left out with a note; if no address is reachable, all are kept, so the probes fail
closed on them rather than the check passing on nothing.

`RESOLVER` is the seam tests replace to give a name several loopback addresses.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from harness.inventory import Target

Resolver = Callable[[str], list[str]]


def system_resolver(host: str) -> list[str]:
    """The addresses getaddrinfo gives for `host`, in its order, each once."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


RESOLVER: Resolver = system_resolver


@dataclass(frozen=True)
class Addresses:
    """What one target's name resolved to, for the probes and for the report."""

    probed: tuple[str, ...]  # empty only when the name did not resolve
    skipped: tuple[str, ...] = ()  # unreachable from this machine (no route for the family)
    error: str = ""  # why the name did not resolve

    @property
    def notes(self) -> tuple[str, ...]:
        if not self.skipped:
            return ()
        return (
            f"not probed, because this machine has no route to them: {', '.join(self.skipped)}",
        )


def reachable(address: str) -> bool:
    """True when the machine has a route to `address` (a UDP connect sends no packet)."""
    ip = ipaddress.ip_address(address)
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.connect((address, 9))
        return True
    except OSError:
        return False


def resolve(target: Target, resolver: Resolver | None = None) -> Addresses:
    host = target.host
    try:
        return Addresses((str(ipaddress.ip_address(host)),))  # an address is itself
    except ValueError:
        pass
    try:
        found = (resolver or RESOLVER)(host)
    except (OSError, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        return Addresses((), error=f"the host name {host} does not resolve: {reason}")
    if not found:
        return Addresses((), error=f"the host name {host} resolves to no address")
    if target.addresses == "first":
        return Addresses((found[0],))
    ok = tuple(a for a in found if reachable(a))
    if not ok:
        return Addresses(tuple(found))  # fail closed on them, never pass on none
    return Addresses(ok, tuple(a for a in found if a not in ok))


def resolve_all(targets: Iterable[Target], workers: int = 16) -> dict[str, Addresses]:
    """Every target's addresses by target name; names resolve concurrently."""
    targets = list(targets)
    if not targets:
        return {}
    resolver = RESOLVER  # read once, so every thread uses the same seam
    with ThreadPoolExecutor(max(1, min(workers, len(targets)))) as pool:
        found = list(pool.map(lambda t: resolve(t, resolver), targets))
    return {t.name: a for t, a in zip(targets, found, strict=True)}
