"""The overview page's headline: findings by severity and could-not-measure, not a pass rate."""

from __future__ import annotations

import re

from harness.output import overview
from harness.output.report_groups import Group, Result


def _result(n: int, status: str, risk: str, category: str = "") -> Result:
    return Result(
        uuid=f"u{n}",
        file=f"u{n}-result.json",
        history_id=f"h{n}",
        status=status,
        target=f"web-{n % 3}",
        check="tls.ciphers",
        address="127.0.0.1",
        tag="",
        risk=risk,
        finding="",
        category=category,
        name=f"r{n}",
        attachments=(),
    )


def test_headline_counts_findings_by_severity_and_could_not_measure() -> None:
    results = [
        _result(0, "failed", "critical"),
        _result(1, "failed", "high"),
        _result(2, "failed", "high"),
        _result(3, "broken", "medium"),
        _result(4, "skipped", "low", "Waived"),
        *(_result(5 + i, "passed", "medium") for i in range(20)),
    ]
    page = overview.render("Fleet", [Group("targets-1", "targets", results)], [], {})
    headline = re.search(r'<p class="cards headline" id="headline">(.*?)</p>', page, re.S)
    assert headline is not None
    text = re.sub(r"<[^>]+>", "", headline.group(1))
    assert text == ("Findings by severity: 1 critical2 high1 could not measure1 waived")
    assert "%" not in page.split("<h2>")[0]  # no pass rate anywhere above the first section
