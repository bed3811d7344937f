"""The TLS probe's concurrency limits hold at every stage, counted at the socket level.

Six real TLS hosts (one per loopback address); the probe runs with max_concurrent_hosts 3 and
tls_connections_per_host 2, and again with tls_connections_per_host 4 under a per-host budget
(connections_per_host, shared with the other probe kinds through hostgate) of 1. Every TCP connection the process opens is counted from connect()
to the moment its file descriptor is really closed, so the pre-check, sslyze's connectivity
test, the version checks, the enumerations and sslyze's scan commands all count. (bench/run.py
watches the same limits from outside with `ss`.)
"""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tls_servers
from probe_context import RecordingContext
from tls_servers import https_server, make_pki, strong_context

from harness.inventory import loads
from harness.probes.tls import TlsProbe
from harness.probes.tls.model import TlsScan
from harness.session.subjects import subjects

HOSTS = [f"127.0.0.{41 + i}" for i in range(6)]


class _Counting:
    """Open TCP connections per remote address, and the peaks, from connect to real close."""

    def __init__(self, watched: set[str]) -> None:
        self.watched = watched
        self.lock = threading.Lock()
        self.live: dict[int, str] = {}
        self.open: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.hosts_peak = 0

    def opened(self, sock: socket.socket, host: str) -> None:
        with self.lock:
            self.live[id(sock)] = host
            self.open[host] += 1
            self.peak[host] = max(self.peak[host], self.open[host])
            self.hosts_peak = max(self.hosts_peak, sum(1 for n in self.open.values() if n))

    def closed(self, sock: socket.socket) -> None:
        with self.lock:
            host = self.live.pop(id(sock), None)
            if host is not None:
                self.open[host] -= 1


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> _Counting:
    count = _Counting(set(HOSTS))
    connect, real_close = socket.socket.connect, socket.socket._real_close  # type: ignore[attr-defined]

    def counted_connect(self: socket.socket, address: Any) -> None:
        connect(self, address)
        if isinstance(address, tuple) and address[0] in count.watched:
            count.opened(self, address[0])

    def counted_close(self: socket.socket, *args: Any) -> None:
        count.closed(self)
        real_close(self, *args)

    monkeypatch.setattr(socket.socket, "connect", counted_connect)
    monkeypatch.setattr(socket.socket, "_real_close", counted_close)
    return count


@pytest.fixture
def servers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    cert = make_pki(tmp_path).leaf("strong", ["strong.test"])
    started = {}
    for host in HOSTS:
        monkeypatch.setattr(tls_servers, "HOST", host)  # https_server binds tls_servers.HOST
        started[host] = https_server(strong_context(cert))
    yield {host: port for host, (port, _) in started.items()}
    for _, server in started.values():
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("limits", "per_host"),
    [
        ("tls_connections_per_host: 2", 2),
        # the host's shared budget is the narrower one: the TLS scan holds all of it, no more
        ("tls_connections_per_host: 4, connections_per_host: 1", 1),
    ],
)
def test_hosts_and_connections_per_host_stay_within_the_limits(
    servers: dict[str, int], counting: _Counting, limits: str, per_host: int
) -> None:
    lines = [
        "version: 1",
        f"defaults: {{timeout: 5, max_concurrent_hosts: 3, {limits}}}",
        "targets:",
        *(
            f"  - {{name: h{i}, host: {host}, tls: [{{port: {port}, server_name: strong.test}}]}}"
            for i, (host, port) in enumerate(servers.items())
        ),
    ]
    inv = loads("\n".join(lines) + "\n")
    ctx = RecordingContext(inv)
    TlsProbe().run(subjects(inv, "tls"), ctx)
    assert all(isinstance(r, TlsScan) for r in ctx.results.values()), ctx.results
    assert len(ctx.results) == len(HOSTS)
    assert set(counting.peak) == set(HOSTS), "every host was contacted and counted"
    assert max(counting.peak.values()) <= per_host, counting.peak
    assert counting.hosts_peak <= 3, counting.hosts_peak
    assert not +counting.open, f"connections left open: {+counting.open}"


def test_a_dead_endpoint_fails_beside_a_port_scan_instead_of_waiting_for_it() -> None:
    """The scan takes the host's whole budget; a port scan holding one slot (60 s on a silent
    host) used to make even a dead TLS port wait for it. The reachability check needs one."""
    from harness.probes.hostgate import GATE

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]  # nothing listens once this closes
    inv = loads(
        "version: 1\ndefaults: {timeout: 5}\ntargets:\n"
        f"  - {{name: dead, host: 127.0.0.1, tls: [{{port: {closed}}}]}}\n"
    )
    ctx = RecordingContext(inv)
    holding, release, gave_back = threading.Event(), threading.Event(), threading.Event()

    def port_scan() -> None:
        with GATE.hold("127.0.0.1", 1, 5):
            holding.set()
            release.wait(60)
        gave_back.set()

    scanner = threading.Thread(target=port_scan, daemon=True)
    scanner.start()
    assert holding.wait(30)
    try:
        TlsProbe().run(subjects(inv, "tls"), ctx)
        assert not gave_back.is_set()  # it did not wait for the port scan's slot
        (failure,) = ctx.results.values()
        assert "connection refused" in str(failure)
    finally:
        release.set()
        scanner.join(30)
