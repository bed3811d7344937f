"""Port checks, one test per check id and target with `ports`. Work is in the probe (nmap, TCP
and UDP), judgement in policy; a check with nothing to report and an unmeasured UDP half ends
broken (policy.complete)."""

import pytest

from harness.policy import ports as policy


@pytest.mark.check("ports.unexpected")
def test_ports_unexpected(subject, measurement, judge):
    judge(policy.complete(policy.unexpected(measurement, subject.target.ports), measurement))


@pytest.mark.check("ports.risky_service")
def test_ports_risky_service(subject, measurement, judge):
    judge(policy.complete(policy.risky(measurement), measurement))
