"""ProbeRunner's public observers: typed events for the run's start, a probe's load, and each
job's start and end, in the order they happen, each job's end told once."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from harness.areas import AREAS, Area
from harness.errors import ProbeFailure
from harness.inventory import loads
from harness.probes import Job, ProbeContext
from harness.session.runner import (
    JobFinished,
    JobStarted,
    ProbeEvent,
    ProbeLoaded,
    ProbeRunner,
    RunStarted,
)

TARGETS = """
version: 1
targets:
  - {name: first, host: 127.0.0.1, ports: {scan: "22"}}
  - {name: second, host: 127.0.0.1, ports: {scan: "22"}}
"""


class _TwoAnswers:
    """Answers the first job twice (the second publish is ignored) and never the second."""

    name = "ports"

    def run(self, jobs: list[Job], ctx: ProbeContext) -> None:
        first = jobs[0]
        ctx.begin(first.key)
        ctx.publish(first.key, "measured")
        ctx.publish(first.key, "again")


def test_observers_see_each_event_once_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        AREAS, Area.PORTS, dataclasses.replace(AREAS[Area.PORTS], probe=lambda: _TwoAnswers)
    )
    inv = loads(TARGETS)
    jobs = [Job(t.name, t, None, inv.settings(t)) for t in inv.targets]
    events: list[ProbeEvent] = []
    given: list[ProbeEvent] = []
    runner = ProbeRunner(inv, {"ports": jobs}, observers=[given.append])
    runner.add_observer(events.append)
    runner.start()
    results: dict[str, Any] = {j.key: runner.get("ports", j.key) for j in jobs}
    runner.shutdown()

    assert results["first"] == "measured"
    assert isinstance(results["second"], ProbeFailure)
    assert given == events
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["RunStarted", "ProbeLoaded", "JobStarted", "JobFinished", "JobFinished"]
    started, loaded, job_started, first_done, second_done = events
    assert isinstance(started, RunStarted)
    assert loaded == ProbeLoaded("ports", loaded.seconds, loaded.at)
    assert job_started == JobStarted("ports", "first", job_started.at)
    assert first_done == JobFinished("ports", "first", False, first_done.at)
    # never answered: the runner fails it closed, and says so as a failed end
    assert second_done == JobFinished("ports", "second", True, second_done.at)
    ats = [e.at for e in events]
    assert ats == sorted(ats)
    assert runner.scans[("ports", "first")] == 1
