"""Pure decisions: not applicable, pass with notes, waivers active and expired, new vs known,
and the severity gate's exit status."""

from __future__ import annotations

import datetime as dt

from harness.checks import Severity, get_check
from harness.inventory import Settings, Target, Waiver
from harness.known import Known
from harness.outcome import Finding, Verdict
from harness.probes import Job
from harness.session.summary import Record, RunSummary
from harness.session.verdicts import decide

TODAY = dt.date(2026, 11, 29)
JOB = Job("web-01", Target(name="web-01", host="127.0.0.1"), None, Settings())
CHECK = get_check("ports.unexpected")
TWO = Verdict(
    findings=(
        Finding("port 23 is open", key="23/tcp"),
        Finding("port 6379 is open", Severity.HIGH, key="6379/tcp"),
    )
)


def _waiver(expires: dt.date, owner: str | None = "ops") -> Waiver:
    return Waiver(
        check="ports.unexpected", target="web-01", reason="migration", expires=expires, owner=owner
    )


def test_not_applicable_and_pass() -> None:
    assert (
        decide(CHECK, JOB, Verdict.skip("no ports"), [], None, TODAY).text
        == "not applicable: no ports"
    )
    ok = decide(CHECK, JOB, Verdict(notes=("scanned 1-1000",)), [], None, TODAY)
    assert (ok.outcome, ok.text, ok.severity) == ("pass", "scanned 1-1000.", None)


def test_failure_message_and_escalated_severity() -> None:
    d = decide(CHECK, JOB, TWO, [], None, TODAY)
    assert d.outcome == "fail" and d.severity is Severity.HIGH
    assert d.text.startswith(
        "Unexpected open port on web-01 (127.0.0.1): port 23 is open; port 6379 is open. Fix: "
    )
    assert d.new is None


def test_active_waiver_skips_with_date_owner_and_reason() -> None:
    d = decide(CHECK, JOB, TWO, [_waiver(TODAY)], None, TODAY)
    assert (d.outcome, d.waived, d.severity) == ("skip", True, Severity.HIGH)
    assert d.text == "waived until 2026-11-29 by ops: migration"


def test_expired_waiver_fails_and_says_so() -> None:
    d = decide(CHECK, JOB, TWO, [_waiver(TODAY - dt.timedelta(days=1))], None, TODAY)
    assert d.outcome == "fail"
    assert "waiver for this finding expired on 2026-11-28 (migration)" in d.text


def test_new_versus_known_per_finding() -> None:
    previous = {"ports.unexpected@web-01#23/tcp": Known("ports.unexpected", "web-01", TODAY)}
    d = decide(CHECK, JOB, TWO, [], previous, TODAY)
    assert d.new is True
    assert d.text.startswith("[new since the previous run: port 6379 is open] ")
    both = previous | {d.finding_ids[1]: Known("ports.unexpected", "web-01", TODAY)}
    assert decide(CHECK, JOB, TWO, [], both, TODAY).new is False


def _record(status: str, severity: str = "medium") -> Record:
    return Record(
        "n" + status + severity, "web-01", "web-01", "ports", "ports.unexpected", severity, status
    )


def test_exit_status_gate() -> None:
    summary = RunSummary()
    summary.add(_record("failed", "medium"))
    assert summary.exit_status(None, failures=1, status=1) == 1
    assert summary.exit_status("high", failures=1, status=1) == 0
    assert summary.exit_status("medium", failures=1, status=1) == 1
    assert summary.exit_status("high", failures=2, status=1) == 1  # a non-finding failure stays
    summary.add(_record("broken"))
    assert summary.exit_status("critical", failures=2, status=1) == 1
    assert RunSummary(by_node={"x": _record("broken")}).exit_status(None, failures=0, status=0) == 1
