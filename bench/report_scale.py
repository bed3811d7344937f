"""The report at fleet size: build time, peak RSS, sizes, and opening it in headless Chromium.

    .venv/bin/python bench/report_scale.py SEED_RESULTS --results 40000 --nights 30 \\
        --json bench/report-scale.json

SEED_RESULTS is a real allure-results folder (for example shard 1 of bench/fleet_scale.py's run,
kept with --keep-results). bench/multiply.py multiplies it to --results results with distinct
targets. Then, measured with bench/run.py's sampler:
  - `harness report` over them (wall time, peak RSS of the process tree, Allure included);
  - the history after --nights nightly runs: each night changes the status of 1% of the
    results and goes through harness.output.history exactly as `harness report` does, with the default
    limit, so the file's size and line count are those of --nights nights; then `harness report`
    again, reading that history (what every later night costs);
  - headless Chromium: the overview page (wall time of `--dump-dom` until the page has run its
    script), a search for one host and for one check (the page's own performance.now() around
    the filter and the re-render), and the largest group report (`--dump-dom` with a virtual
    time budget, checked for the group's total being rendered);
  - sizes of the results, the report and the history.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measuring import ROOT, measure
from multiply import multiply
from peers import PY

from harness.output import history as hist
from harness.output import report_groups

CHROMIUM = [
    "/usr/bin/chromium",
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,900",
]
MB = 1_000_000


def tree_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def text_of(dom: str) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", dom[dom.find("<body") :], flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", body).split())


def open_page(url: str, profile: Path, budget_ms: int | None = None) -> tuple[float, str]:
    cmd = [*CHROMIUM, f"--user-data-dir={profile}", "--dump-dom", url]
    if budget_ms:
        cmd.insert(-2, f"--virtual-time-budget={budget_ms}")
    started = time.monotonic()
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=600).stdout
    return time.monotonic() - started, dom


def serve(root: Path) -> tuple[str, http.server.ThreadingHTTPServer]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/", server


def report_cmd(results: Path, output: Path, history: Path, group_size: int) -> list[str]:
    return [
        PY,
        "-m",
        "harness.cli",
        "report",
        "--results",
        str(results),
        "--output",
        str(output),
        "--history",
        str(history),
        "--group-size",
        str(group_size),
    ]


def nights(results: Path, history: Path, n: int) -> None:
    """n nights of history, as `harness report` writes it, 1% of statuses changing each night."""
    index = report_groups.read(results)
    statuses = {r.history_id: r.status for r in index}
    rng = random.Random(16)
    ids = sorted(statuses)
    runs = hist.load(history)
    for night in range(n):
        for hid in rng.sample(ids, max(1, len(ids) // 100)):
            statuses[hid] = "failed" if statuses[hid] == "passed" else "passed"
        run = hist.new_run("night", statuses, hist.count(statuses.values()))
        run.timestamp = 1_700_000_000_000 + night * 86_400_000
        runs = [*runs, run][-hist.DEFAULT_LIMIT :]
        hist.save(history, runs, hist.DEFAULT_LIMIT)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seed", type=Path, help="a real allure-results folder")
    parser.add_argument("--results", type=int, default=40_000)
    parser.add_argument("--nights", type=int, default=30)
    parser.add_argument("--group-size", type=int, default=2000)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", type=Path, help="results multiplied by an earlier --keep run")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="harness-report-scale-"))
    res: dict[str, Any] = {"results": args.results, "group_size": args.group_size}
    res["load_start"] = round(os.getloadavg()[0], 1)
    try:
        results = work / "results"
        started = time.monotonic()
        if args.reuse:
            results = args.reuse
        else:
            multiply(args.seed, results, args.results)
            res["multiply_s"] = round(time.monotonic() - started, 1)
        res["results_mb"] = round(tree_bytes(results) / MB, 1)
        history = work / "history.jsonl"
        report = work / "report"
        r = measure(
            "report",
            report_cmd(results, report, history, args.group_size),
            ROOT,
            work / "report.log",
        )
        res["report_first"] = {
            "wall_s": round(r.wall, 1),
            "cpu_s": round(r.cpu, 1),
            "rss_tree_mib": round(r.rss_tree),
            "rc": r.rc,
        }
        nights(results, history, args.nights)
        res["history_after_nights"] = {
            "nights": args.nights,
            "lines": len(history.read_text().splitlines()),
            "mb": round(history.stat().st_size / MB, 1),
        }
        shutil.rmtree(report)
        r = measure(
            "report",
            report_cmd(results, report, history, args.group_size),
            ROOT,
            work / "report2.log",
        )
        res["report_with_history"] = {
            "wall_s": round(r.wall, 1),
            "cpu_s": round(r.cpu, 1),
            "rss_tree_mib": round(r.rss_tree),
            "rc": r.rc,
        }
        res["history_mb"] = round(history.stat().st_size / MB, 1)
        res["history_lines"] = len(history.read_text().splitlines())
        res["report_mb"] = round(tree_bytes(report) / MB, 1)
        res["overview_kb"] = round((report / "index.html").stat().st_size / 1000)
        groups = [p for p in report.iterdir() if p.is_dir()]
        res["groups"] = len(groups)
        url, server = serve(report)
        try:
            index = report_groups.read(results)
            host = index[len(index) // 2].target
            check = "tls.protocols"
            wall, dom = open_page(url + "index.html", work / "p0")
            res["overview_open_s"] = round(wall, 2)
            res["overview_ready"] = 'data-ready="1"' in dom
            for what, q in (("host", host), ("check", check)):
                wall, dom = open_page(f"{url}index.html#q={q}", work / f"p-{what}")
                ms = re.search(r'data-search-ms="([\d.]+)"', dom)
                hits = re.search(r'data-search-hits="(\d+)"', dom)
                res[f"search_{what}"] = {
                    "query": q,
                    "open_s": round(wall, 2),
                    "filter_ms": float(ms.group(1)) if ms else None,
                    "hits": int(hits.group(1)) if hits else None,
                }
            biggest = max(groups, key=lambda g: sum(1 for _ in g.glob("data/test-results/*")))
            wall, dom = open_page(f"{url}{biggest.name}/index.html", work / "p-g", 60_000)
            total = re.search(r"Total (\d+)", text_of(dom))
            res["group_open_s"] = round(wall, 2)
            res["group_rendered_total"] = int(total.group(1)) if total else None
        finally:
            server.shutdown()
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    res["load_end"] = round(os.getloadavg()[0], 1)
    text = json.dumps(res, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
