"""Fleet sizing: one run, one shard, merging and the report at up to 2,000 TLS endpoints (issue 16).

    sudo .venv/bin/python bench/fleet_scale.py --sizes 2000 --shards 8 --full \\
        --keep-results /tmp/fleet-results --json bench/fleet-scale.json

For each size N it starts bench/fleet.py's fleet (N TLS endpoints behind one nginx, plus the four
banner/login hosts) and measures, with the same sampler as bench/run.py (wall time, peak RSS of
the process tree):
  - one shard:   `pytest suites/ --targets full-N.yaml --shard 1/S` (S = --shards);
  - the full run (with --full): `pytest suites/ --targets full-N.yaml`, in one process;
  - the merge:   copying every shard's allure-results into one folder (here: the full run's
    results, or shard 1's when there is no full run), then `harness report` over them;
  - sizes:       results, report and history on disk.
A size whose full run is not measured says so; nothing is extrapolated here. As root it runs in a
private network namespace, like bench/run.py, so the fleet's fixed addresses touch nothing else.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fleet import Fleet
from measuring import ROOT, Bench
from namespaces import NETNS_ENV, netns_supported, rerun_in_netns
from peers import PY, pytest_cmd

MB = 1_000_000


def tree_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def count_results(path: Path) -> int:
    return sum(1 for _ in path.glob("*-result.json"))


def report_cmd(results: Path, output: Path, history: Path, by: str) -> list[str]:
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
        "--report-by",
        by,
    ]


def size_run(
    b: Bench, fleet: Fleet, args: argparse.Namespace, n: int, work: Path
) -> dict[str, Any]:
    out: dict[str, Any] = {"tls_endpoints": n, "banner_hosts": len(fleet.banners)}
    targets = fleet.write_targets(work / f"full-{n}.yaml", n_tls=n, timeout=args.timeout)
    shard = work / f"shard-1-of-{args.shards}-{n}"
    cmd = [*pytest_cmd("suites/", targets, shard), "--shard", f"1/{args.shards}"]
    r = b.run(f"shard 1 of {args.shards}, {n}", cmd, timeout=args.run_timeout, stamps=True)
    out["shard"] = {
        "of": args.shards,
        "wall_s": round(r.wall, 1),
        "cpu_s": round(r.cpu, 1),
        "rss_tree_mib": round(r.rss_tree),
        "rss_process_mib": round(r.rss_process),
        "outcome": r.outcome,
        "results": count_results(shard),
        "results_mb": round(tree_bytes(shard) / MB, 1),
    }
    merged = shard
    if args.full:
        full = work / f"full-{n}"
        r = b.run(f"full run, {n}", pytest_cmd("suites/", targets, full), timeout=args.run_timeout)
        out["full"] = {
            "wall_s": round(r.wall, 1),
            "cpu_s": round(r.cpu, 1),
            "rss_tree_mib": round(r.rss_tree),
            "rss_process_mib": round(r.rss_process),
            "outcome": r.outcome if r.rc is not None else f"killed at {args.run_timeout:.0f} s",
            "results": count_results(full),
            "results_mb": round(tree_bytes(full) / MB, 1),
        }
        if r.rc is not None:
            merged = full
    else:
        out["full"] = None  # not measured at this size
    if not args.no_report:
        out["merge_and_report"] = merge_and_report(b, merged, work / f"report-{n}", args)
    if args.keep_results:
        dest = args.keep_results / f"results-{n}"
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(merged, dest)
    return out


def merge_and_report(
    b: Bench, results: Path, work: Path, args: argparse.Namespace
) -> dict[str, Any]:
    """Merge as CI does (copy every shard's folder into one), then build the report."""
    merged = work / "merged"
    started = time.monotonic()
    shutil.copytree(results, merged)
    merge_s = time.monotonic() - started
    history = work / "history.jsonl"
    report = work / "report"
    r = b.run(
        f"harness report ({count_results(merged)} results)",
        report_cmd(merged, report, history, args.report_by),
        timeout=args.run_timeout,
    )
    return {
        "results": count_results(merged),
        "merge_s": round(merge_s, 1),
        "report_wall_s": round(r.wall, 1),
        "report_cpu_s": round(r.cpu, 1),
        "report_rss_tree_mib": round(r.rss_tree),
        "report_rc": r.rc,
        "report_mb": round(tree_bytes(report) / MB, 1),
        "history_mb": round(tree_bytes(history) / MB, 2) if history.exists() else 0,
        "report_by": args.report_by,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000", help="TLS endpoint counts (default 2000)")
    parser.add_argument("--shards", type=int, default=8, help="measure shard 1 of this many")
    parser.add_argument("--full", action="store_true", help="also run each size in one process")
    parser.add_argument("--timeout", type=float, default=5, help="targets.yaml defaults.timeout")
    parser.add_argument("--run-timeout", type=float, default=3600, help="kill a run after this")
    parser.add_argument("--report-by", default="target", help="harness report --report-by")
    parser.add_argument("--no-report", action="store_true", help="measure the runs only")
    parser.add_argument("--keep-results", type=Path, help="copy the results of each size here")
    parser.add_argument("--json", type=Path, help="write the figures as JSON here")
    parser.add_argument("--no-netns", action="store_true", help="stay on the machine's loopback")
    args = parser.parse_args()
    if NETNS_ENV not in os.environ and not args.no_netns and netns_supported():
        return rerun_in_netns(sys.argv[1:], __file__)
    sizes = sorted({int(s) for s in args.sizes.split(",")})
    work = Path(tempfile.mkdtemp(prefix="harness-fleet-"))
    res: dict[str, Any] = {"cpus": os.cpu_count(), "load_start": os.getloadavg()[0], "sizes": []}
    fleet = Fleet.start(work / "fleet", max(sizes), 4)
    try:
        b = Bench(argparse.Namespace(repeat=1), work)
        for n in sizes:
            print(f"size {n}:", flush=True)
            res["sizes"].append(size_run(b, fleet, args, n, work))
            if args.json:  # write as we go: a long run killed later keeps what it measured
                args.json.write_text(json.dumps(res, indent=2) + "\n")
    finally:
        fleet.stop()
        shutil.rmtree(work, ignore_errors=True)
    res["load_end"] = os.getloadavg()[0]
    text = json.dumps(res, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    os.chdir(ROOT)
    raise SystemExit(main())
