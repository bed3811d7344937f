"""From a check's Verdict to a result decision: pass, skip (not applicable or waived), or fail
with one readable paragraph. Pure, so waivers and new-versus-known are unit-testable."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from harness import known
from harness.checks import Check, Severity
from harness.inventory import Waiver
from harness.outcome import Finding, Verdict
from harness.output.result_page import shorten
from harness.probes import Job


@dataclass(frozen=True)
class Decision:
    outcome: Literal["pass", "skip", "fail"]
    text: str = ""  # the skip reason or the failure message
    severity: Severity | None = None  # set when there are findings (waived or not)
    waived: bool = False
    finding_ids: tuple[str, ...] = ()
    new: bool | None = None  # None: no previous run to compare with
    first_seen: dt.date | None = None  # the oldest finding's first day; None: ages not tracked
    details: tuple[Detail, ...] = ()  # one per identity, for SARIF (waived findings too)
    waiver: Waiver | None = None  # the waiver in force, when waived
    hidden: str = ""  # the finding a waiver hides, shown beside the waiver


@dataclass(frozen=True)
class Detail:
    """One finding identity with that finding's own severity and words."""

    id: str
    severity: Severity
    text: str


def _sentences(parts: Sequence[str]) -> str:
    return " ".join(p.rstrip(".") + "." for p in parts)


def message(check: Check, job: Job, verdict: Verdict) -> str:
    """'<title> on <where>: <finding>; <finding>. <notes> Fix: <remediation>'"""
    # a long list (a hundred cipher suites) is cut here; the result page lists every item
    body = "; ".join(shorten(f.text.rstrip(".")) for f in verdict.findings)
    notes = _sentences(verdict.notes)
    return f"{check.title} on {job.where}: {body}. {notes + ' ' if notes else ''}Fix: {check.remediation}"


def waiver_for(waivers: Sequence[Waiver], check_id: str, target: str) -> Waiver | None:
    return next((w for w in waivers if w.check == check_id and w.target == target), None)


def finding_identities(check: Check, job: Job, finding: Finding) -> tuple[str, ...]:
    """One identity per address the finding was seen on, so fixing one address of a name
    shows as fixed there while the others stay open; a host that is an address has none."""
    addresses = finding.addresses or (job.address,)
    return tuple(known.finding_id(check.id, job.key, finding.key, a) for a in addresses)


def identities(check: Check, job: Job, verdict: Verdict) -> tuple[str, ...]:
    return tuple(i for f in verdict.findings for i in finding_identities(check, job, f))


def decide(
    check: Check,
    job: Job,
    verdict: Verdict,
    waivers: Sequence[Waiver],
    previous: dict[str, known.Known] | None,
    today: dt.date,
    track_age: bool = False,
) -> Decision:
    if verdict.not_applicable is not None:
        return Decision("skip", f"not applicable: {verdict.not_applicable}")
    if not verdict.findings:
        return Decision("pass", _sentences(verdict.notes))
    severity = max((f.severity or check.severity for f in verdict.findings), key=lambda s: s.rank)
    text = message(check, job, verdict)
    details = tuple(
        Detail(i, f.severity or check.severity, f.text.rstrip("."))
        for f in verdict.findings
        for i in dict.fromkeys(finding_identities(check, job, f))
    )
    waiver = waiver_for(waivers, check.id, job.target.name)
    if waiver is not None:
        if waiver.expires >= today:
            owner = f" by {waiver.owner}" if waiver.owner else ""
            reason = f"waived until {waiver.expires}{owner}: {waiver.reason}"
            return Decision(
                "skip",
                reason,
                severity,
                waived=True,
                finding_ids=tuple(d.id for d in details),
                details=details,
                waiver=waiver,
                hidden=text,
            )
    ids = identities(check, job, verdict)
    new: bool | None = None
    first_seen: dt.date | None = None
    if previous is not None:
        fresh = [
            f.text
            for f in verdict.findings
            if any(i not in previous for i in finding_identities(check, job, f))
        ]
        new = bool(fresh)
        if fresh:
            text = f"[new since the previous run: {'; '.join(fresh)}] {text}"
    if track_age:
        first_seen = min(
            previous[i].first_seen if previous and i in previous else today for i in ids
        )
        text = f"{text} Finding {known.age(first_seen, today)}."
    if waiver is not None:  # expired: said first and short, not after the finding's long text
        text = (
            f"The waiver for this finding expired on {waiver.expires} ({waiver.reason[:60]}):"
            f" renew it in targets.yaml or fix the finding. {text}"
        )
    return Decision(
        "fail", text, severity, finding_ids=ids, new=new, first_seen=first_seen, details=details
    )
