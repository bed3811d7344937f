"""Reading what a suite run wrote to allure-results, shared by the end-to-end suite tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

Results = dict[tuple[str, str], Any]


def by_target_and_check(results_dir: Path) -> Results:
    """(target label, check label) -> the result JSON."""
    out: Results = {}
    for f in results_dir.glob("*-result.json"):
        data = json.loads(f.read_text())
        labels = {lb["name"]: lb["value"] for lb in data["labels"]}
        out[(labels["target"], labels["check"])] = data
    return out


def fixture_attachments(results_dir: Path) -> list[str]:
    """The evidence files in the results' probe steps, each once (every result that used a
    probe's output refers to the one file written for its subject), never in a fixture."""
    files = {
        a["source"]: a["name"]
        for f in results_dir.glob("*-result.json")
        for step in json.loads(f.read_text()).get("steps", [])
        for a in step.get("attachments", [])
    }
    return list(files.values())


def assert_status(run: Results, target: str, check: str, status: str) -> None:
    """The check ended as expected; a failure reads as one paragraph with where and the fix."""
    __tracebackhide__ = True
    result = run.get((target, check))
    assert result is not None, f"no result for {target} {check}:\n{run[('', 'stdout')][-3000:]}"
    message = result.get("statusDetails", {}).get("message", "")
    assert result["status"] == status, f"{target} {check}: {result['status']}: {message}"
    if status == "failed":
        assert "Fix:" in message and " on " in message and "<" not in message
