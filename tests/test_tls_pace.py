"""Fragile TLS servers: measured one connection at a time, never a hang, never a leaked socket.

The fragile server is Debian's OpenSSL 3 `openssl s_server` with legacy suites, behind
tests/fragile_proxy.py: one connection at a time, and slower the more clients queue behind
(chosen over sslyze's prebuilt 1.0.1e binary: Debian ships this one, and its behaviour is set
by the proxy, the same every run). Five parallel handshakes time out on it; one at a time, each
is answered. Each server gets its own loopback address, since the host's pace lasts for the
run (the process).
"""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fragile_proxy import FragileProxy, legacy_s_server, sockets_to
from probe_context import RecordingContext
from tls_servers import HOST, make_pki

from harness.areas import AREAS, Area
from harness.errors import FailureKind, ProbeFailure
from harness.inventory import loads
from harness.probes import Job, ProbeContext
from harness.probes.deadline import tls_endpoint_bound
from harness.probes.hostgate import GATE
from harness.probes.tls import TlsProbe
from harness.probes.tls import probe as tls_probe
from harness.probes.tls.model import TlsScan
from harness.probes.tls.pace import Pace
from harness.session import runner as runner_module
from harness.session.runner import ProbeRunner
from harness.session.subjects import subjects

TIMEOUT = 3  # s_server alone answers every handshake well within it (the baseline has no error)


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, str]]:
    """(port, CA bundle) of one legacy s_server on 127.0.0.1."""
    d = tmp_path_factory.mktemp("pace")
    pki = make_pki(d)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf = pki.leaf("legacy", ["legacy.test"], key=key, issuer="rsa")
    port, proc = legacy_s_server(leaf)
    yield port, str(pki.bundle)
    proc.kill()
    proc.wait()


def _probe(host: str, port: int, bundle: str, timeout: float = TIMEOUT) -> TlsScan | ProbeFailure:
    inv = loads(
        f"version: 1\ndefaults: {{ca_bundle: {bundle}, timeout: {timeout}}}\ntargets:\n"
        f"  - {{name: t, host: {host}, tls: [{{port: {port}, server_name: legacy.test}}]}}\n"
    )
    ctx = RecordingContext(inv)
    TlsProbe().run(subjects(inv, "tls"), ctx)
    (outcome,) = ctx.results.values()
    assert isinstance(outcome, TlsScan | ProbeFailure)
    return outcome


def _measured(scan: TlsScan) -> TlsScan:
    """What the verdicts are made of: all but where and when, and how it was paced."""
    return dataclasses.replace(scan, host="", port=0, scanned_at=scan.scanned_at.min, pacing=None)


@pytest.fixture(scope="module")
def direct(upstream: tuple[int, str]) -> TlsScan:
    scan = _probe(HOST, *upstream)
    assert isinstance(scan, TlsScan) and not scan.errors, scan  # a baseline that measured
    assert scan.pacing is None  # and needed no pacing
    return scan


@pytest.mark.parametrize("run", [1, 2])
def test_a_fragile_server_is_measured_serially_with_the_verdicts_of_the_server_alone(
    upstream: tuple[int, str], direct: TlsScan, run: int
) -> None:
    host = f"127.0.0.{80 + run}"
    proxy = FragileProxy((HOST, upstream[0]), host=host)
    try:
        scan = _probe(host, proxy.port, upstream[1])
        assert proxy.peak_waiting >= 2  # it was asked in parallel first, and queued
        # the parallel pass ended with handshakes in flight: none of them stays open
        assert sockets_to(host, proxy.port) == 0
    finally:
        proxy.close()
    assert isinstance(scan, TlsScan), scan
    assert scan.errors == ()
    assert _measured(scan) == _measured(direct)
    assert scan.pacing is not None and "measured one connection at a time after" in scan.pacing
    # the pace holds for the host's other probes for the rest of the run
    assert GATE.paced(host) == scan.pacing


@pytest.mark.parametrize("deadline", [None, 4.0], ids=["settings", "short-deadline"])
def test_a_wedged_server_is_broken_within_the_bound_and_no_socket_stays_open(
    upstream: tuple[int, str], monkeypatch: pytest.MonkeyPatch, deadline: float | None
) -> None:
    """Answers the pre-checks and sslyze's connectivity test, then takes one connection and
    never answers it nor anyone else: the run ends broken within the endpoint's bound. With a
    pass deadline shorter than sslyze's own retries, the deadline is what ends it."""
    if deadline is not None:
        monkeypatch.setattr(tls_probe, "tls_pass_deadline", lambda timeout: deadline)
    host = f"127.0.0.{85 if deadline is None else 84}"
    proxy = FragileProxy((HOST, upstream[0]), per_waiting=0.0, wedge_after=12, host=host)
    started = time.monotonic()
    try:
        outcome = _probe(host, proxy.port, upstream[1], timeout=1)
        took = time.monotonic() - started
        assert sockets_to(host, proxy.port) == 0
    finally:
        proxy.close()
    assert isinstance(outcome, ProbeFailure), outcome
    assert outcome.kind is FailureKind.TIMEOUT, outcome
    assert "one connection at a time" in outcome.reason
    assert took < tls_endpoint_bound(1) + 15, took
    if deadline is not None:
        assert "did not finish within its deadline of 4 s" in outcome.reason


def test_the_deadline_wakes_a_read_blocked_on_a_silent_server() -> None:
    with socket.create_server((HOST, 0)) as listener:
        pace = Pace(deadline=1.0)
        sock = pace.open(listener.getsockname(), timeout=60)
        started = time.monotonic()
        try:
            data = sock.recv(10)  # the server never says a word
        except OSError:
            data = b""
        took = time.monotonic() - started
        assert data == b"" and took < 10, took
        with pytest.raises(OSError):
            pace.open(listener.getsockname(), timeout=60)  # nothing new after the deadline
        pace.finish()
        assert pace.left_open == 1 and sock.fileno() == -1  # closed by finish, not by us


def test_a_paced_host_gets_one_connection_at_a_time_from_every_probe() -> None:
    host = "127.0.0.87"
    GATE.pace(host, "test")
    inside, most = [0], [0]
    lock = threading.Lock()

    def probe() -> None:
        with GATE.hold(host, 1, 5):
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.05)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=probe) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert most[0] == 1


class _Stuck:
    """Begins its job and never publishes (a probe wedged in a library call)."""

    name = "tls"
    release = threading.Event()

    def run(self, jobs: list[Job], ctx: ProbeContext) -> None:
        ctx.begin(jobs[0].key)
        self.release.wait(60)


def test_the_runner_stops_waiting_for_a_job_past_its_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(AREAS, Area.TLS, dataclasses.replace(AREAS[Area.TLS], probe=lambda: _Stuck))
    monkeypatch.setitem(runner_module.JOB_BOUNDS, "tls", lambda job: 0.5)
    monkeypatch.setattr(runner_module, "GRACE_SECONDS", 0.5)
    inv = loads("version: 1\ntargets:\n  - {name: t, host: 127.0.0.1, tls: [{port: 443}]}\n")
    jobs = subjects(inv, "tls")
    runner = ProbeRunner(inv, {"tls": jobs})
    got: list[Any] = []
    waiter = threading.Thread(target=lambda: got.append(runner.get("tls", jobs[0].key)))
    waiter.start()
    waiter.join(20)
    _Stuck.release.set()
    runner.shutdown()
    assert got, "get() still waiting 20 s after a bound of 1 s"
    assert isinstance(got[0], ProbeFailure) and "stuck" in got[0].reason


def test_sslyze_connects_through_the_pace() -> None:
    """install() puts the pace's opener where sslyze looks (tests/test_sslyze_contract.py
    checks that sslyze still calls it)."""
    from harness.probes.tls import pace as tls_pace
    from harness.probes.tls import sslyze_adapter

    tls_pace.install()
    assert sslyze_adapter.direct_opener() is tls_pace.open_direct


def test_nmap_asks_a_paced_host_one_probe_at_a_time() -> None:
    from harness.inventory import Settings
    from harness.probes.ports import Budget, nmap_arguments

    budget = Budget.of(Settings())
    assert "--max-parallelism" not in nmap_arguments("127.0.0.89", ["-p", "443"], budget)
    GATE.pace("127.0.0.89", "test")
    for versions in (False, True):
        args = nmap_arguments("127.0.0.89", ["-p", "443"], budget, versions=versions)
        assert args[args.index("--max-parallelism") + 1] == "1"
