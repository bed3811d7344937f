"""Findings from allure-results as SARIF 2.1.0, for code-scanning dashboards (the command is
harness.commands.sarif)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from harness import __version__, known
from harness.checks import Check, Severity, catalogue
from harness.output import completeness

LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub code scanning ranks alerts by this property (0.0-10.0)
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}
FINGERPRINT = "harnessFinding/v3"  # v3: list keys (cipher suites) no longer in the hash


def _labels(result: dict[str, Any]) -> dict[str, str]:
    return {lb["name"]: lb["value"] for lb in result.get("labels", [])}


def _finding_ids(result: dict[str, Any], check_id: str, subject: str) -> list[str]:
    ids = [lb["value"] for lb in result.get("labels", []) if lb["name"] == "finding_id"]
    return ids or [known.finding_id(check_id, subject)]  # results of older harness versions


def _uri(path: str, source_root: Path) -> str:
    """The targets file relative to the repository root, as code scanning wants it."""
    if not path:
        return "targets.yaml"
    p = Path(path)
    try:
        return p.resolve().relative_to(source_root.resolve()).as_posix()
    except ValueError:
        return p.name  # outside the root: the file's name is still a location, never empty


def _rule(c: Check) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": c.id,
        "name": c.id.replace(".", "_"),
        "shortDescription": {"text": c.title},
        "fullDescription": {"text": c.description},
        "help": {
            "text": f"{c.description} How to fix: {c.remediation}",
            "markdown": f"{c.description}\n\n**How to fix.** {c.remediation}",
        },
        "defaultConfiguration": {"level": LEVEL[c.severity]},
        "properties": {
            "tags": ["security", c.area],
            "security-severity": SECURITY_SEVERITY[c.severity.value],
        },
    }
    if c.references:
        rule["helpUri"] = c.references[0]
    return rule


def _carried(c: completeness.Carried, root: Path, checks: dict[str, Check]) -> dict[str, Any]:
    """A known finding of a subject this run could not measure: emitted again, so code
    scanning keeps its alert open, and marked as not re-measured."""
    k = c.finding
    severity = checks[k.check].severity.value
    seen = k.last_seen or "an earlier run"
    return {
        "ruleId": k.check,
        "level": LEVEL[Severity(severity)],
        "message": {
            "text": f"{k.check} on {k.subject}: not re-measured in this run (the subject could "
            f"not be measured); carried forward from the last run that saw it ({seen}), "
            f"first seen {k.first_seen}."
        },
        "locations": [_location(c.targets_file, c.line or 1, k.subject, c.target, root)],
        "partialFingerprints": {FINGERPRINT: fingerprint(k.id)},
        "properties": {
            "finding": k.id,
            "target": c.target,
            "severity": severity,
            "security-severity": SECURITY_SEVERITY[severity],
            "firstSeen": k.first_seen,
            "lastSeen": k.last_seen,
            "notReMeasured": True,
        },
    }


def _location(targets_file: str, line: int, subject: str, target: str, root: Path) -> Any:
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": _uri(targets_file, root)},
            "region": {"startLine": max(line, 1)},
        },
        "logicalLocations": [
            {"name": subject, "fullyQualifiedName": f"{target}/{subject}", "kind": "resource"}
        ],
    }


def _invocation(assessed: completeness.Assessment) -> dict[str, Any]:
    """SARIF's way to say the run failed: executionSuccessful, and why, one note per cause."""
    notes = [{"level": "error", "message": {"text": p}} for p in assessed.problems]
    for u in assessed.unmeasured:
        note: dict[str, Any] = {
            "level": "error",
            "message": {"text": f"could not measure {u.subject}: {u.reason}"},
        }
        notes.append(note)
    return {
        "executionSuccessful": assessed.complete,
        **({"toolExecutionNotifications": notes} if notes else {}),
    }


def fingerprint(finding_id: str) -> str:
    """A hash of the finding's identity, without the evidence lists some keys end in: a TLS
    cipher finding's key is 'TLS 1.2: <suites>', and removing one suite must not make the
    alert a new one. Within one check, subject and address, the part before ': ' is unique."""
    base, _, key = finding_id.partition("#")
    return hashlib.sha256(f"{base}#{key.partition(': ')[0]}".encode()).hexdigest()


def _details(labels: list[dict[str, str]]) -> list[dict[str, str]]:
    out = []
    for lb in labels:
        if lb["name"] == "finding_detail":
            try:
                detail = json.loads(lb["value"])
            except ValueError:
                continue
            if isinstance(detail, dict) and detail.get("severity") in SECURITY_SEVERITY:
                out.append({k: str(v) for k, v in detail.items()})
    return out


def _from_result(
    result: dict[str, Any], checks: dict[str, Check], root: Path
) -> list[dict[str, Any]]:
    """One SARIF result per finding identity of a failed (or waived) Allure result."""
    labels = _labels(result)
    check_id = labels.get("check", "")
    if check_id not in checks:
        return []
    waived = result.get("status") == "skipped"
    details = _details(result.get("labels", []))
    if waived and not details:
        return []  # skipped as not applicable: nothing found
    check = checks[check_id]
    subject = labels.get("suite", labels.get("target", ""))
    if not details:  # results of older harness versions: the whole message, the result's risk
        risk = labels.get("risk", check.severity.value)
        message = result.get("statusDetails", {}).get("message", "").removeprefix("Failed: ")
        details = [
            {"id": fid, "severity": risk, "text": message}
            for fid in _finding_ids(result, check_id, subject)
        ]
    line = int(labels.get("targets_line", "1") or 1)
    location = _location(
        labels.get("targets_file", ""), line, subject, labels.get("target", ""), root
    )
    out = []
    for d in details:  # one alert per finding identity, stable across runs
        sarif: dict[str, Any] = {
            "ruleId": check_id,
            "level": LEVEL[Severity(d["severity"])],
            "message": {"text": f"{check.title} on {subject}: {d['text']}."},
            "locations": [location],
            "partialFingerprints": {FINGERPRINT: fingerprint(d["id"])},
            "properties": {
                "finding": d["id"],
                "target": labels.get("target"),
                "severity": d["severity"],
                "security-severity": SECURITY_SEVERITY[d["severity"]],
                **({"firstSeen": labels["first_seen"]} if "first_seen" in labels else {}),
            },
        }
        if waived:
            sarif["suppressions"] = [_suppression(labels)]
        out.append(sarif)
    return out


def _suppression(labels: dict[str, str]) -> dict[str, Any]:
    props = {"owner": labels.get("waiver_owner"), "expires": labels.get("waiver_expires")}
    return {
        "kind": "external",  # declared in targets.yaml, outside the scanned thing
        "status": "accepted",
        "justification": labels.get("waiver_reason", "waived in targets.yaml"),
        "properties": {k: v for k, v in props.items() if v},
    }


def information_uri(env: dict[str, str] | None = None) -> str:
    """Where the harness is documented: its README, in the repository that runs it (the CI
    templates install the harness from that checkout), or on this disk."""
    env = dict(os.environ) if env is None else env
    if env.get("GITHUB_SERVER_URL") and env.get("GITHUB_REPOSITORY"):
        return f"{env['GITHUB_SERVER_URL']}/{env['GITHUB_REPOSITORY']}#readme"
    if env.get("CI_PROJECT_URL"):
        return f"{env['CI_PROJECT_URL']}#readme"
    return (Path(__file__).resolve().parents[2] / "README.md").as_uri()


def convert(
    results_dir: Path, source_root: Path | None = None, info_uri: str | None = None
) -> dict[str, Any]:
    root = source_root or Path.cwd()
    checks = catalogue()
    findings: list[dict[str, Any]] = []
    for path in sorted(results_dir.glob("*-result.json")):
        try:
            result = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if result.get("status") in ("failed", "skipped"):
            findings += _from_result(result, checks, root)
    assessed = completeness.assess(results_dir, (f["properties"]["finding"] for f in findings))
    findings += [_carried(c, root, checks) for c in assessed.carried if c.finding.check in checks]
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "harness",
                        "version": __version__,
                        "informationUri": info_uri or information_uri(),
                        "rules": [_rule(c) for c in checks.values()],
                    }
                },
                "invocations": [_invocation(assessed)],
                "results": findings,
                "properties": {"runStatus": assessed.status(), "standsIn": assessed.stands_in},
            }
        ],
    }
