"""Port checks, one test per check id and target with `ports`. Work is in the probe (nmap),
judgement in policy."""

import pytest

from harness.policy import ports as policy


@pytest.mark.check("ports.unexpected")
def test_ports_unexpected(subject, measurement, judge):
    judge(policy.unexpected(measurement, subject.target.ports))


@pytest.mark.check("ports.risky_service")
def test_ports_risky_service(subject, measurement, judge):
    judge(policy.risky(measurement))
