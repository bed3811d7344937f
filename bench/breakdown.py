"""Where the seconds of one harness run go, from starting pytest to its last result file.

    .venv/bin/python bench/breakdown.py --targets bench-targets.yaml [--suite suites/test_tls.py]

Runs pytest once as a user would (Allure results written, dev-only plugins left out) with
bench/stamps_plugin.py loaded, then prints each phase: interpreter and imports, plugin set-up,
collection, the probes (import, first and last result), the tests (verdicts and Allure writes,
which overlap the probes), and the end of the session (run-level Allure files). bench/run.py
prints the same breakdown for each harness run it times.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"


def lines(stamps: dict[str, Any], launched: float, ended: float) -> list[str]:
    """The breakdown of one run, as text lines (times relative to the launch)."""
    ph = stamps.get("phases", {})
    spent = stamps.get("spent", {})
    published = [t for _, _, t in stamps.get("published", [])]
    runner = stamps.get("runner_started")

    def at(t: float | None) -> str:
        return "    -" if t is None else f"{t - launched:5.2f}"

    def span(a: float | None, b: float | None) -> str:
        return "    -" if a is None or b is None else f"{b - a:5.2f}"

    first, last = (min(published), max(published)) if published else (None, None)
    imports = {
        k[len("import_") : -len("_probe")]: v for k, v in spent.items() if k.startswith("import_")
    }
    out = [
        f"{'phase':<58} {'from':>5} {'took':>5} s",
        f"{'interpreter, pytest and harness imports':<58} {0:5.2f} {at(ph.get('plugin_loaded'))}",
        f"{'plugins set up (allure, harness)':<58} {at(ph.get('plugin_loaded'))} "
        f"{span(ph.get('plugin_loaded'), ph.get('configured'))}",
        f"{'collection (targets.yaml, parametrization, plan)':<58} {at(ph.get('configured'))} "
        f"{span(ph.get('configured'), ph.get('collected'))}",
        f"{'probes: start to first result':<58} {at(runner)} {span(runner, first)}",
        "  of which importing the probe modules: "
        + ", ".join(f"{p} {s:.2f} s" for p, s in sorted(imports.items())),
        f"{'probes: start to last result':<58} {at(runner)} {span(runner, last)}",
        f"{'tests (wait for results, verdicts, Allure result files)':<58} "
        f"{at(ph.get('first_test'))} {span(ph.get('first_test'), ph.get('last_test'))}",
        f"  of which handing Allure results to the writer {spent.get('allure_results', 0):.2f} s, "
        f"attachments {spent.get('allure_attachments', 0):.2f} s "
        f"({stamps.get('allure_files', 0)} files, {stamps.get('allure_bytes', 0) / 1e6:.1f} MB; "
        f"the writer thread spent {spent.get('allure_writer_thread', 0):.2f} s writing them)",
        f"{'last result to last test done':<58} {at(last)} {span(last, ph.get('last_test'))}",
        f"{'session end (summary, run-level Allure files)':<58} {at(ph.get('last_test'))} "
        f"{span(ph.get('last_test'), ph.get('files_written'))}",
        f"{'interpreter exit':<58} {at(ph.get('files_written'))} "
        f"{span(ph.get('files_written'), ended)}",
        f"{'whole run':<58} {0:5.2f} {ended - launched:5.2f}",
    ]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", required=True, type=Path)
    parser.add_argument("--suite", default=str(ROOT / "suites" / "test_tls.py"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="breakdown-") as tmp:
        stamps = Path(tmp) / "stamps.json"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(BENCH), str(ROOT)])}
        env["BENCH_STAMPS"] = str(stamps)
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as on a user's machine
        cmd = [
            *(sys.executable, "-m", "pytest", args.suite, "--targets", str(args.targets), "-q"),
            *("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:timeout"),
            *("-p", "stamps_plugin", "--alluredir", str(Path(tmp) / "allure")),
        ]
        launched = time.monotonic()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        ended = time.monotonic()
        if not stamps.exists():
            print(proc.stdout[-3000:], proc.stderr[-3000:])
            return 1
        data = json.loads(stamps.read_text())
    print(proc.stdout.strip().splitlines()[-1])
    for line in lines(data, launched, ended):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
