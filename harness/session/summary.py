"""The end-of-run table: targets against areas, findings by severity, what could not be measured."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

from harness import coverage as port_coverage
from harness import known
from harness.areas import Area
from harness.checks import Severity
from harness.inventory import Inventory, Waiver
from harness.inventory import warnings as inventory_warnings
from harness.policy import catalogue

_WORSE = {"passed": 0, "skipped": 1, "waived": 1, "failed": 2, "broken": 3}
_LETTER = {"critical": "C", "high": "H", "medium": "M", "low": "L", "info": "I"}


@dataclass(frozen=True)
class Record:
    nodeid: str
    target: str
    key: str
    area: str
    check: str
    severity: str
    status: str  # passed | failed | broken | skipped | waived
    reason: str = ""
    new: bool | None = None  # None: no previous run to compare with
    finding_ids: tuple[str, ...] = ()
    left_behind: tuple[str, ...] = ()  # what the check created on the target

    @classmethod
    def from_report(cls, report: pytest.TestReport, data: dict[str, Any]) -> Record | None:
        status: str | None = None
        if report.when == "call":
            if report.passed:
                status = "passed"
            elif report.failed:
                status = "failed" if data["finding"] else "broken"
            else:
                status = "waived" if data["waived"] else "skipped"
        elif report.failed:
            status = "broken"
        elif report.skipped:
            status = "skipped"
        if status is None:
            return None
        reason = data.get("reason") or ""
        if status in ("broken", "skipped") and not reason:
            reason = _short(report.longreprtext)
        return cls(
            nodeid=report.nodeid,
            target=data["target"],
            key=data["key"],
            area=data["area"],
            check=data["check"],
            severity=data["severity"],
            status=status,
            reason=reason,
            new=data.get("new") if status == "failed" else None,
            finding_ids=tuple(data.get("finding_ids", ())) if status == "failed" else (),
            left_behind=tuple(data.get("left_behind", ())),
        )


def _short(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


@dataclass
class RunSummary:
    inventory: Inventory | None = None
    targets_path: str = ""
    by_node: dict[str, Record] = field(default_factory=dict)
    today: dt.date | None = None  # the clock, injectable for tests
    previous: dict[str, known.Known] | None = None  # the known-findings file, when compared
    # per discovered target: the ports found and what examined each (harness.session.discovery)
    coverage: dict[str, list[port_coverage.PortRow]] = field(default_factory=dict)

    @property
    def records(self) -> list[Record]:
        return list(self.by_node.values())

    def add(self, record: Record | None) -> None:
        if record is None:
            return
        old = self.by_node.get(record.nodeid)
        if old is None or _WORSE[record.status] >= _WORSE[old.status]:
            self.by_node[record.nodeid] = record

    def broken(self) -> list[Record]:
        return [r for r in self.records if r.status == "broken"]

    def findings(self) -> list[Record]:
        return [r for r in self.records if r.status == "failed"]

    def judged(self) -> set[tuple[str, str]]:
        """(check, subject) pairs this run judged: a waived or unmeasured one says nothing new."""
        return {
            (r.check, r.key) for r in self.records if r.status in ("passed", "failed", "skipped")
        }

    def fixed(self) -> list[tuple[str, known.Known]]:
        failing = [fid for r in self.findings() for fid in r.finding_ids]
        return known.fixed(self.previous, self.judged(), failing)

    def render(self) -> list[str]:
        records = self.records
        targets = sorted({r.target for r in records})
        width = max([len(t) for t in targets] + [6]) + 2
        head = f"{'target':<{width}}" + "".join(f"{a:<16}" for a in Area)
        lines = ["", f"harness summary ({self.targets_path}): {len(records)} results", head]
        cells: dict[tuple[str, str], list[Record]] = {}
        for r in records:  # grouped once: a fleet has thousands of targets and results
            cells.setdefault((r.target, r.area), []).append(r)
        for target in targets:
            row = f"{target:<{width}}"
            for area in Area:
                row += f"{self._cell(cells.get((target, area), [])):<16}"
            lines.append(row.rstrip())
        lines.append(
            "cells: findings by severity (C critical, H high, M medium, L low, I info), "
            "'n?' could not measure, 'nw' waived, 'ok N' passed"
        )
        counts = {s.value: 0 for s in Severity}
        for r in self.findings():
            counts[r.severity] += 1
        waived = sum(1 for r in records if r.status == "waived")
        broken = self.broken()
        lines.append(
            "findings: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n)
            if any(counts.values())
            else "findings: none"
        )
        lines[-1] += f"; waived: {waived}; could not measure: {len(broken)}"
        expired = self.expired_waivers()
        if expired:  # their findings are back among the failures above
            lines[-1] += f"; expired waivers: {len(expired)}"
        # one line per subject and reason: a dead endpoint is one story, not 19 check lines
        grouped: dict[tuple[str, str], list[str]] = {}
        for r in broken:
            grouped.setdefault((r.key, r.reason), []).append(r.check)
        for (key, reason), checks in grouped.items():
            which = checks[0] if len(checks) == 1 else f"{len(checks)} checks"
            lines.append(f"  could not measure {key} [{which}]: {reason}")
        new = [r for r in self.findings() if r.new]
        if any(r.new is not None for r in self.findings()):
            lines.append(f"new since the previous run: {len(new)}")
            lines.extend(f"  new: {r.check} on {r.key} ({r.severity})" for r in new)
        if self.previous is not None:
            gone = self.fixed()
            lines.append(f"fixed since the previous run: {len(gone)}")
            lines.extend(
                f"  fixed: {k.check} on {k.subject} (open since {k.first_seen})" for _, k in gone
            )
        lines.extend(self.waiver_warnings())
        lines.extend(port_coverage.lines(self.coverage, self._examined()))
        note = self.catalogue_note()
        if note:
            lines.append(f"note: {note}")
        lines.extend(
            f"left on {r.key} by {r.check}: {text}" for r in self.records for text in r.left_behind
        )
        return lines

    def _examined(self) -> Any:
        seen = {(r.area, r.key) for r in self.records}
        return lambda area, key: (area, key) in seen

    def catalogue_note(self) -> str | None:
        """The software catalogue's age, when banners were judged against an old snapshot."""
        if not any(r.area == "banners" for r in self.records):
            return None
        return catalogue.load().stale_note(self.today or dt.date.today())

    def expired_waivers(self) -> list[Waiver]:
        if self.inventory is None:
            return []
        return inventory_warnings.expired(self.inventory, self.today or dt.date.today())

    def waiver_warnings(self) -> list[str]:
        """Expired waivers, then waivers whose check ran on their target in this run without any
        finding to waive."""
        if self.inventory is None:
            return []
        examined = {(r.target, r.check) for r in self.records}
        hit = {(r.target, r.check) for r in self.records if r.status in ("waived", "failed")}
        expired = self.expired_waivers()
        return [
            f"warning: the waiver for {w.check} on {w.target} expired on {w.expires} and "
            "waives nothing now. Fix: renew it after a review, or remove it and fix the finding"
            for w in expired
        ] + [
            f"warning: the waiver for {w.check} on {w.target} matched no finding; remove it"
            for w in self.inventory.waivers
            if (w.target, w.check) in examined
            and (w.target, w.check) not in hit
            and w not in expired
        ]

    @staticmethod
    def _cell(records: list[Record]) -> str:
        if not records:
            return "-"
        parts = []
        for sev, letter in _LETTER.items():
            n = sum(1 for r in records if r.status == "failed" and r.severity == sev)
            if n:
                parts.append(f"{n}{letter}")
        broken = sum(1 for r in records if r.status == "broken")
        if broken:
            parts.append(f"{broken}?")
        waived = sum(1 for r in records if r.status == "waived")
        if waived:
            parts.append(f"{waived}w")
        if not parts:
            return f"ok {sum(1 for r in records if r.status == 'passed')}"
        return " ".join(parts)

    def exit_status(self, fail_on: str | None, failures: int, status: int) -> int:
        """pytest's exit status after the severity gate. `failures` counts pytest's failed and
        errored reports, so a failure that is not a harness finding is never waved through."""
        if self.broken():
            return status or 1  # could not measure is never a pass
        if not fail_on or status != 1:
            return status
        findings = self.findings()
        if failures != len(findings):
            return status
        rank = Severity(fail_on).rank
        return 1 if any(Severity(r.severity).rank >= rank for r in findings) else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "targets_file": self.targets_path,
            "results": [r.__dict__ for r in self.records],
            "findings": len(self.findings()),
            "could_not_measure": len(self.broken()),
            "expired_waivers": [f"{w.check}@{w.target}" for w in self.expired_waivers()],
            "new_findings": [f"{r.check}@{r.key}" for r in self.findings() if r.new],
            "notes": [n for n in (self.catalogue_note(),) if n],
            "left_behind": [
                {"key": r.key, "check": r.check, "what": text}
                for r in self.records
                for text in r.left_behind
            ],
            "fixed_findings": [fid for fid, _ in self.fixed()] if self.previous is not None else [],
            "coverage": {t: [r.to_dict() for r in rows] for t, rows in self.coverage.items()},
        }
