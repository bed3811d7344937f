"""A small inventory with a counting probe, for driving the plugin through pytester.

The probe stands in for a network tool: what these tests exercise is the plugin's plumbing
(planning, probe-once, statuses, labels, files, exit codes), not a scanner.
"""

from __future__ import annotations

import pytest

TARGETS = """\
version: 1
targets:
  - name: web-01
    host: 127.0.0.1
    tags: [prod]
    ports: {expected: [80], scan: "80,443"}
  - name: db-01
    host: 127.0.0.2
    ports: {expected: [5432], scan: "5432"}
  - name: down-01
    host: 127.0.0.3
    ports: {expected: [], scan: "22"}
waivers:
  - check: ports.risky_service
    target: db-01
    reason: legacy database, migration planned
    owner: dba-team
    expires: 2999-01-01
  - check: ports.unexpected
    target: down-01
    reason: expired waiver
    expires: 2001-01-01
"""

PROBE = """
import json, os
from harness.errors import FailureKind, ProbeFailure

OPEN = {"web-01": [80, 8080], "db-01": [5432]}

class CountingProbe:
    name = "ports"
    def run(self, jobs, ctx):
        with open(os.environ["PROBE_LOG"], "a") as log:
            for job in jobs:
                log.write(job.key + "\\n")
        for job in jobs:
            ctx.progress(f"scanning {job.key}")
            if job.key == "down-01":
                ctx.publish(job.key, ProbeFailure(FailureKind.TIMEOUT, job.where, "host timed out after 5 s"))
            else:
                ctx.attach(job.key, "scan.json", json.dumps(OPEN[job.key]), "application/json")
                ctx.publish(job.key, OPEN[job.key])
"""

CONFTEST = """
import dataclasses
from harness.areas import Area
from harness.areas import AREAS
from countingprobe import CountingProbe
AREAS[Area.PORTS] = dataclasses.replace(AREAS[Area.PORTS], probe=lambda: CountingProbe)
"""

SUITE = """
import pytest
from harness import Finding, Severity, Verdict

pytestmark = pytest.mark.ports

@pytest.mark.check("ports.unexpected")
def test_ports_unexpected(subject, measurement, judge):
    extra = [p for p in measurement if p not in subject.target.ports.expected]
    judge(Verdict(findings=tuple(Finding(f"port {p} is open and not declared", key=f"{p}/tcp") for p in extra)))

@pytest.mark.check("ports.risky_service")
def test_ports_risky_service(subject, measurement, judge):
    risky = [p for p in measurement if p == 5432]
    judge(Verdict(findings=tuple(Finding(f"PostgreSQL answers on {p}", Severity.CRITICAL) for p in risky)))
"""


def make_lab(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    pytester.makefile(".yaml", targets=TARGETS)
    pytester.makepyfile(countingprobe=PROBE, conftest=CONFTEST, test_suite=SUITE)
    monkeypatch.setenv("PROBE_LOG", str(pytester.path / "probe.log"))
    return pytester


def probed(pytester: pytest.Pytester) -> list[str]:
    log = pytester.path / "probe.log"
    return log.read_text().split() if log.exists() else []
