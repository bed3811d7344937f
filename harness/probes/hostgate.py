"""One connection budget per host, shared by every probe kind.

Probe kinds run at the same time (that is where the speed comes from), but a fragile server (an
appliance or an `openssl s_server` that serves one connection at a time) must never see sslyze,
nmap -sV, banner grabs and logins at once: their connections queue behind each other, time out,
and the verdicts then depend on what else ran. So every probe takes slots from its host's budget
before it connects and gives them back after, and one host never carries more than
`connections_per_host` of our connections. Different hosts do not share a budget, so the
overlap across hosts stays.

What a slot is worth: one banner grab, one nmap -sV of one port, one login endpoint (its
attempts are sequential), nmap's connect scan and its UDP scan (each touches each port once).
An sslyze scan takes `tls_connections_per_host` slots (capped at the budget), because it opens
that many connections at once. Hosts are keyed by address, so a name and its address share one budget.

A host whose TLS handshakes timed out under parallel load is `pace`d: from then on, for the rest
of the run, its budget is one connection, whatever probe asks (its TLS endpoints are measured
serially, see tls.pace), so the banners, logins and ports probes meet the same pace.

Once the run is stopping (SIGTERM, see probes.stopping) the gate hands out no slot: a probe that
asks, or is waiting, gets `Stopped` instead of starting its next scan, grab or login.
"""

from __future__ import annotations

import functools
import ipaddress
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from harness.probes import addresses, stopping


@functools.lru_cache(maxsize=4096)
def _first_address(name: str) -> str:
    try:
        found = addresses.RESOLVER(name)
    except (OSError, UnicodeError):
        return name
    return found[0] if found else name


def host_key(host: str) -> str:
    """The budget a connection to `host` counts against: its address (the first, as a client
    connecting to a name would use)."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return _first_address(host)


class HostGate:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._used: dict[str, int] = {}
        self._paced: dict[str, str] = {}  # host -> why it gets one connection at a time

    def pace(self, host: str, why: str) -> None:
        """One connection at a time to `host` for the rest of the run (the first reason stays)."""
        with self._cond:
            self._paced.setdefault(host_key(host), why)

    def unpace_all(self) -> None:
        """A new run: no host is paced yet (a process may make several runs, as pytester does)."""
        with self._cond:
            self._paced.clear()

    def paced(self, host: str) -> str | None:
        """Why `host` gets one connection at a time, or None."""
        with self._cond:
            return self._paced.get(host_key(host))

    @contextmanager
    def hold(self, host: str, slots: int, budget: int) -> Iterator[None]:
        """Take `slots` of `host`'s `budget` (waiting until they are free), then give them back.

        A request larger than the budget takes the whole budget, so it can always run. Raises
        stopping.Stopped once the run is stopping."""
        key = host_key(host)
        with self._cond:
            if key in self._paced:
                budget = 1
            want = max(1, min(slots, budget))
            while True:
                stopping.check(f"a connection to {host}")
                if self._used.get(key, 0) + want <= budget:
                    break
                self._cond.wait()
            self._used[key] = self._used.get(key, 0) + want
        try:
            yield
        finally:
            with self._cond:
                self._used[key] -= want
                if not self._used[key]:
                    del self._used[key]
                self._cond.notify_all()

    def wake(self) -> None:
        """Wake every waiter, to look at the stopping flag."""
        with self._cond:
            self._cond.notify_all()


GATE = HostGate()  # one per process: every probe kind of the run shares it
stopping.on_stop(GATE.wake)
