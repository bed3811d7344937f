"""`harness sarif`: findings from allure-results as SARIF 2.1.0, for code-scanning dashboards."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from harness import atomic
from harness.output import codequality, sarif

# Exit codes beyond the README's table for the run: the SARIF is always written.
INCOMPLETE = 1  # the run was incomplete; unmeasured subjects' known findings are carried forward
NO_STAND_IN = 6  # no manifest, or a shard's is missing: the SARIF cannot stand in for the run


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
    parser.add_argument(
        "--information-uri",
        metavar="URL",
        help="the tool's documentation link in the SARIF (default: this repository's README "
        "under GitHub or GitLab CI, else the README on this disk)",
    )
    parser.add_argument(
        "--codequality",
        metavar="PATH",
        type=Path,
        help="also write the findings as a GitLab Code Quality report (merge requests and the "
        "pipeline page show it); waived findings are left out",
    )
    args = parser.parse_args(argv)
    if not args.results.is_dir():
        print(
            f"harness sarif: no results folder {args.results}. Fix: run pytest with --alluredir first.",
            file=sys.stderr,
        )
        return 4
    doc = sarif.convert(args.results, args.source_root, args.information_uri)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(args.output, json.dumps(doc, indent=2))  # masked, whole or not at all
    run = doc["runs"][0]
    print(f"sarif: {len(run['results'])} findings -> {args.output.resolve()}")
    if args.codequality is not None:
        found = codequality.issues(doc)
        atomic.write_text(args.codequality, json.dumps(found, indent=2))
        print(f"code quality: {len(found)} issues -> {args.codequality.resolve()}")
    if run["invocations"][0]["executionSuccessful"]:
        return 0
    status = run["properties"]["runStatus"]
    notes = run["invocations"][0].get("toolExecutionNotifications", [])
    print(f"harness sarif: the run is {status}", file=sys.stderr)
    for note in notes[:20]:
        print(f"  {note['message']['text']}", file=sys.stderr)
    if len(notes) > 20:
        print(f"  ... and {len(notes) - 20} more in the SARIF's invocations", file=sys.stderr)
    stands_in = run["properties"].get("standsIn", False)
    if not stands_in:
        print(
            "harness sarif: do not upload this SARIF: without every run manifest it cannot "
            "say which findings are still open, and code scanning would close them.",
            file=sys.stderr,
        )
        return NO_STAND_IN
    return INCOMPLETE
