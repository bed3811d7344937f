"""`harness sarif`: findings from allure-results as SARIF 2.1.0, for code-scanning dashboards."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from harness import __version__
from harness.checks import Severity, catalogue

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


def convert(results_dir: Path) -> dict[str, Any]:
    checks = catalogue()
    rules = [
        {
            "id": c.id,
            "name": c.id.replace(".", "_"),
            "shortDescription": {"text": c.title},
            "fullDescription": {"text": c.description},
            "help": {
                "text": f"How to fix: {c.remediation}",
                "markdown": f"**How to fix.** {c.remediation}",
            },
            "helpUri": c.references[0] if c.references else None,
            "defaultConfiguration": {"level": LEVEL[c.severity]},
            "properties": {
                "tags": ["security", c.area],
                "security-severity": SECURITY_SEVERITY[c.severity.value],
            },
        }
        for c in checks.values()
    ]
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
        where = labels.get("suite", labels.get("target", ""))
        findings.append(
            {
                "ruleId": check_id,
                "level": LEVEL[Severity(risk)],
                "message": {"text": message},
                "locations": [
                    {
                        "logicalLocations": [
                            {
                                "name": where,
                                "fullyQualifiedName": f"{labels.get('target', '')}/{where}",
                                "kind": "resource",
                            }
                        ]
                    }
                ],
                # stable across runs, so dashboards track one alert per check and endpoint
                "partialFingerprints": {"harness/v1": f"{check_id}@{where}"},
                "properties": {
                    "target": labels.get("target"),
                    "severity": risk,
                    "security-severity": SECURITY_SEVERITY[risk],
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
                        "rules": rules,
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
    args = parser.parse_args(argv)
    if not args.results.is_dir():
        print(
            f"harness sarif: no results folder {args.results}. Fix: run pytest with --alluredir first.",
            file=sys.stderr,
        )
        return 2
    doc = convert(args.results)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(doc, indent=2))
    print(f"sarif: {len(doc['runs'][0]['results'])} findings -> {args.output.resolve()}")
    return 0
