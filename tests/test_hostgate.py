"""The per-host connection budget: never more than the budget on one host, overlap across hosts.

Threads really block in the gate; the test waits on events, never on the clock."""

from __future__ import annotations

import threading
import time

from harness.probes.hostgate import HostGate, host_key

GUARD = 30.0  # a bound for waits that should return at once, so a bug hangs no longer


def _until_waiting(gate: HostGate, host: str, count: int) -> None:
    deadline = time.monotonic() + GUARD
    while gate.waiting.get(host, 0) != count:
        assert time.monotonic() < deadline, "the holders never reached the gate"
        time.sleep(0.01)


def _holder(
    gate: HostGate, host: str, slots: int, budget: int, inside: threading.Semaphore
) -> tuple[threading.Thread, threading.Event]:
    release = threading.Event()

    def run() -> None:
        with gate.hold(host, slots, budget):
            inside.release()
            release.wait(GUARD)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, release


def test_one_host_never_carries_more_than_its_budget_and_other_hosts_overlap() -> None:
    gate = HostGate()
    inside = threading.Semaphore(0)
    holders = [_holder(gate, "127.0.0.1", 1, 2, inside) for _ in range(5)]
    assert inside.acquire(timeout=GUARD) and inside.acquire(timeout=GUARD)  # two got in
    _until_waiting(gate, "127.0.0.1", 3)  # and three wait
    # another host is not held back by the full one
    other, other_release = _holder(gate, "127.0.0.2", 3, 3, inside)
    assert inside.acquire(timeout=GUARD)
    assert gate.peak["127.0.0.2"] == 3
    assert gate.peak["127.0.0.1"] == 2  # three are still waiting for a slot
    for _, release in holders:
        release.set()
    other_release.set()
    for thread, _ in [*holders, (other, other_release)]:
        thread.join(GUARD)
    assert gate.peak["127.0.0.1"] == 2  # all five ran, never more than two at once


def test_a_scan_wider_than_the_budget_takes_the_whole_budget() -> None:
    gate = HostGate()
    inside = threading.Semaphore(0)
    wide, wide_release = _holder(gate, "::1", 10, 3, inside)  # sslyze at 10 against a budget of 3
    assert inside.acquire(timeout=GUARD)
    assert gate.peak["::1"] == 3
    narrow, narrow_release = _holder(gate, "::1", 1, 3, inside)
    _until_waiting(gate, "::1", 1)  # held back while the wide scan runs
    assert gate.peak["::1"] == 3
    wide_release.set()
    assert inside.acquire(timeout=GUARD)
    narrow_release.set()
    for thread in (wide, narrow):
        thread.join(GUARD)
    assert gate.peak["::1"] == 3


def test_a_name_and_its_address_share_one_budget() -> None:
    assert host_key("127.0.0.1") == "127.0.0.1"
    assert host_key("::1") == "::1"
    assert host_key("localhost") == "127.0.0.1"  # this machine's first address for the name
