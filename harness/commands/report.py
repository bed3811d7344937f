"""`harness report`: the command line over harness.output.report, which builds the Allure 3 HTML
report from allure-results, keeping history."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from harness.output import completeness, coverage_report, last_run, report, report_groups
from harness.output import history as hist

USAGE = report.USAGE


def _summary(index: list[report_groups.Result]) -> dict[str, int]:
    out = hist.count(r.status for r in index)
    out["new"] = sum(r.finding == "new" for r in index)
    out["waived"] = sum(r.category == "Waived" for r in index)
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="harness report",
        description="Build the HTML report of a run from its Allure results (written by "
        "`pytest suites/ --alluredir DIR`), keeping a history of earlier runs for trends. "
        "Large runs become one report per group of targets under a searchable overview page. "
        "The report loads nothing from other hosts.",
    )
    parser.add_argument("--results", default="reports/allure-results", type=Path)
    parser.add_argument("--output", default="reports/allure-report", type=Path)
    parser.add_argument(
        "--history",
        default="reports/history.jsonl",
        help="history file carried between runs, for trends and transitions ('none' to disable)",
    )
    parser.add_argument(
        "--history-limit",
        type=int,
        default=hist.DEFAULT_LIMIT,
        metavar="N",
        help=f"keep the last N runs in the history (default {hist.DEFAULT_LIMIT})",
    )
    parser.add_argument(
        "--report-by",
        choices=["auto", "none", *report_groups.GROUP_BY],
        default="auto",
        help=f"one Allure report ('none'), or an overview page with one Allure report per group "
        f"of targets ('target') or per tag ('tag'); 'auto' splits by target above "
        f"{report.SPLIT_ABOVE} results",
    )
    parser.add_argument(
        "--group-size",
        type=int,
        default=report.GROUP_SIZE,
        metavar="N",
        help=f"about this many results per group report (default {report.GROUP_SIZE})",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=2,
        help="Allure processes building group reports at once (default 2)",
    )
    parser.add_argument(
        "--single-file",
        metavar="PATH",
        type=Path,
        help=f"also write a one-file HTML report here (skipped above {report.SINGLE_FILE_MAX} results)",
    )
    parser.add_argument("--name", default="Security harness")
    parser.add_argument(
        "--allow-older",
        action="store_true",
        help="build the report even when the suites ran since these results were written "
        "(a run without --alluredir writes none)",
    )
    args = parser.parse_args(argv)
    results: Path = args.results
    if not results.is_dir() or not any(results.glob("*-result.json")):
        print(
            f"harness report: no Allure results in {results}. Fix: run "
            f"`pytest suites/ --alluredir {results}` first.",
            file=sys.stderr,
        )
        return USAGE
    older = None if args.allow_older else last_run.stale(results, Path.cwd())
    if older is not None:
        print(f"harness report: {older}", file=sys.stderr)
        return USAGE
    if args.history_limit < 1 or args.group_size < 1:
        print(
            "harness report: --history-limit and --group-size must be at least 1.",
            file=sys.stderr,
        )
        return USAGE
    history = None if args.history == "none" else Path(args.history)
    index = report_groups.read(results)
    assessed = completeness.assess(results)
    ports_found = coverage_report.mark(results, assessed.manifests)  # the ports each area saw
    name: str = args.name
    if not assessed.complete:
        # the title is on every page, the overview's first line included
        name = f"{name} · INCOMPLETE RUN ({assessed.status().removeprefix('incomplete: ')})"
        completeness.mark_environment(results, assessed)
    by = args.report_by
    if by == "auto":
        by = "target" if len(index) > report.SPLIT_ABOVE else "none"
    runs = hist.load(history, args.history_limit - 1)
    output: Path = args.output
    output.parent.mkdir(parents=True, exist_ok=True)
    code = report.build(
        results, output, index, runs, name, by, args.group_size, args.jobs, ports_found
    )
    if code:
        return code
    if history is not None:
        statuses = {r.history_id: r.status for r in index if r.history_id}
        this_run = hist.new_run(args.name, statuses, _summary(index))
        hist.save(history, [*runs, this_run], args.history_limit)
    where = "overview" if by != "none" else "report"
    print(f"{where}: {(output / 'index.html').resolve()}")
    if not args.single_file:
        return completeness.verdict(assessed, "harness report")
    if args.single_file:
        if len(index) > report.SINGLE_FILE_MAX:
            print(
                f"single-file report skipped: {len(index)} results is above {report.SINGLE_FILE_MAX}, "
                "where one file stops opening well in a browser; publish the report folder.",
                file=sys.stderr,
            )
            return completeness.verdict(assessed, "harness report")
        with tempfile.TemporaryDirectory() as tmp:
            h = report.allure_history(runs, [r.history_id for r in index], Path(tmp) / "h.jsonl")
            code = report.generate(
                results, Path(tmp) / "out", h, name, single_file=True, append_history=False
            )
            if code:
                return code
            args.single_file.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(tmp) / "out" / "index.html", args.single_file)
        print(f"single-file report: {args.single_file.resolve()}")
    return completeness.verdict(assessed, "harness report")
