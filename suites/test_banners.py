"""Banner checks, one test per check id and target with `ports` or `http`. The banner probe
reads headers and greetings (plus nmap -sV); policy judges them against the software catalogue,
whose snapshot date every banner.outdated result shows."""

import pytest

from harness.policy import banners as policy


@pytest.mark.check("banner.disclosure")
def test_banner_disclosure(subject, measurement, judge):
    judge(policy.disclosure(measurement))


@pytest.mark.check("banner.outdated")
def test_banner_outdated(subject, measurement, judge):
    judge(policy.outdated(measurement))
