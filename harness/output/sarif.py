"""`harness sarif`: findings from allure-results as SARIF 2.1.0, for code-scanning dashboards."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from harness import __version__, known
from harness.checks import Check, Severity, catalogue

LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub code scanning ranks alerts by this property (0.0-10.0)
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}


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


def convert(results_dir: Path, source_root: Path | None = None) -> dict[str, Any]:
    root = source_root or Path.cwd()
    checks = catalogue()
    findings = []
    for path in sorted(results_dir.glob("*-result.json")):
        try:
            result = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if result.get("status") != "failed":
            continue
        labels = _labels(result)
        check_id = labels.get("check")
        if check_id not in checks:
            continue
        risk = labels.get("risk", checks[check_id].severity.value)
        message = result.get("statusDetails", {}).get("message", "").removeprefix("Failed: ")
        subject = labels.get("suite", labels.get("target", ""))
        line = int(labels.get("targets_line", "1") or 1)
        location = {
            "physicalLocation": {
                "artifactLocation": {"uri": _uri(labels.get("targets_file", ""), root)},
                "region": {"startLine": max(line, 1)},
            },
            "logicalLocations": [
                {
                    "name": subject,
                    "fullyQualifiedName": f"{labels.get('target', '')}/{subject}",
                    "kind": "resource",
                }
            ],
        }
        # one alert per finding identity (the known-findings identity), stable across runs
        for fid in _finding_ids(result, check_id, subject):
            findings.append(
                {
                    "ruleId": check_id,
                    "level": LEVEL[Severity(risk)],
                    "message": {"text": message},
                    "locations": [location],
                    "partialFingerprints": {
                        "harnessFinding/v2": hashlib.sha256(fid.encode()).hexdigest()
                    },
                    "properties": {
                        "finding": fid,
                        "target": labels.get("target"),
                        "severity": risk,
                        "security-severity": SECURITY_SEVERITY[risk],
                        **({"firstSeen": labels["first_seen"]} if "first_seen" in labels else {}),
                    },
                }
            )
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "harness",
                        "version": __version__,
                        "rules": [_rule(c) for c in checks.values()],
                    }
                },
                "results": findings,
            }
        ],
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="harness sarif", description=__doc__)
    parser.add_argument("--results", default="reports/allure-results", type=Path)
    parser.add_argument("--output", default="reports/harness.sarif", type=Path)
    parser.add_argument(
        "--source-root",
        default=Path.cwd(),
        type=Path,
        help="repository root that the targets file's path is made relative to (default: .)",
    )
    args = parser.parse_args(argv)
    if not args.results.is_dir():
        print(
            f"harness sarif: no results folder {args.results}. Fix: run pytest with --alluredir first.",
            file=sys.stderr,
        )
        return 2
    doc = convert(args.results, args.source_root)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(doc, indent=2))
    print(f"sarif: {len(doc['runs'][0]['results'])} findings -> {args.output.resolve()}")
    return 0
