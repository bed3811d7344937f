"""The per-host connection budget: never more than the budget on one host, overlap across hosts.

Threads really block in the gate; the test waits on events, never on the clock. What is inside
the gate is counted by the holders themselves (`Inside`), and a holder that waits is seen
waiting in the gate by its stack, as py-spy would show it.
"""

from __future__ import annotations

import collections
import threading
import time

from gate_watch import waiting_in_the_gate

from harness.probes.hostgate import HostGate, host_key

GUARD = 30.0  # a bound for waits that should return at once, so a bug hangs no longer


class Inside:
    """The slots the holders of each host have inside the gate now, and the most ever."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now: collections.Counter[str] = collections.Counter()
        self.peak: collections.Counter[str] = collections.Counter()
        self.entered = threading.Semaphore(0)

    def enter(self, host: str, slots: int) -> None:
        with self.lock:
            self.now[host] += slots
            self.peak[host] = max(self.peak[host], self.now[host])
        self.entered.release()

    def leave(self, host: str, slots: int) -> None:
        with self.lock:
            self.now[host] -= slots


def _until_waiting(threads: list[threading.Thread], count: int) -> None:
    deadline = time.monotonic() + GUARD
    while sum(waiting_in_the_gate(t) for t in threads) != count:
        assert time.monotonic() < deadline, "the holders never reached the gate"
        time.sleep(0.01)


def _holder(
    gate: HostGate, host: str, slots: int, budget: int, inside: Inside, counted: int | None = None
) -> tuple[threading.Thread, threading.Event]:
    """A thread that holds `slots` of `host`'s budget until released; it counts itself as
    `counted` slots (what the gate should grant it: the whole budget when it asks for more)."""
    release = threading.Event()
    weight = slots if counted is None else counted

    def run() -> None:
        with gate.hold(host, slots, budget):
            inside.enter(host, weight)
            release.wait(GUARD)
            inside.leave(host, weight)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, release


def test_one_host_never_carries_more_than_its_budget_and_other_hosts_overlap() -> None:
    gate = HostGate()
    inside = Inside()
    holders = [_holder(gate, "127.0.0.1", 1, 2, inside) for _ in range(5)]
    assert inside.entered.acquire(timeout=GUARD) and inside.entered.acquire(timeout=GUARD)
    _until_waiting([t for t, _ in holders], 3)  # two got in, and three wait in the gate
    # another host is not held back by the full one
    other, other_release = _holder(gate, "127.0.0.2", 3, 3, inside)
    assert inside.entered.acquire(timeout=GUARD)
    assert inside.peak["127.0.0.2"] == 3
    assert inside.peak["127.0.0.1"] == 2  # three are still waiting for a slot
    for _, release in holders:
        release.set()
    other_release.set()
    for thread, _ in [*holders, (other, other_release)]:
        thread.join(GUARD)
    assert inside.peak["127.0.0.1"] == 2  # all five ran, never more than two at once
    assert not any(t.is_alive() for t, _ in holders)


def test_a_scan_wider_than_the_budget_takes_the_whole_budget() -> None:
    gate = HostGate()
    inside = Inside()
    # sslyze at 10 against a budget of 3: it gets in (a request is capped at the budget)
    wide, wide_release = _holder(gate, "::1", 10, 3, inside, counted=3)
    assert inside.entered.acquire(timeout=GUARD)
    narrow, narrow_release = _holder(gate, "::1", 1, 3, inside)
    _until_waiting([narrow], 1)  # held back while the wide scan runs: it took the whole budget
    assert inside.peak["::1"] == 3
    wide_release.set()
    assert inside.entered.acquire(timeout=GUARD)
    narrow_release.set()
    for thread in (wide, narrow):
        thread.join(GUARD)
    assert inside.peak["::1"] == 3  # never the wide scan and another at once


def test_a_name_and_its_address_share_one_budget() -> None:
    assert host_key("127.0.0.1") == "127.0.0.1"
    assert host_key("::1") == "::1"
    assert host_key("localhost") == "127.0.0.1"  # this machine's first address for the name
