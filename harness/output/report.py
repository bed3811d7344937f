"""Build the Allure 3 HTML report from allure-results, keeping history (the command is
harness.commands.report).

Allure 3 (npm `allure`, pinned in package.json) needs only Node.js, which CI images have; Allure 2
needs a Java runtime too. History lives in one JSONL file under reports/, which CI carries from
run to run, so the trend graphs span many runs; harness.output.history keeps it compact and bounded.

Up to SPLIT_ABOVE results the report is one Allure report. Above, one Allure report would not
open in a browser, so the results are split into groups of whole targets (harness.output.report_groups),
one Allure report each, under an overview page (harness.output.overview) that searches every result.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from harness.output import history as hist
from harness.output import offline, overview, report_groups
from harness.output.allure_config import allure_config

# Measured in headless Chromium on this project's 2-core machine (docs/benchmarks.md, "Fleet
# sizing"): an Allure report of 2,262 results opened in 8.8 s, one of 4,000 whole targets took 24 s; a
# single-file report (evidence embedded) of 1,000 results, 30 MB, in 7.9 s, of 2,500 in 14.8 s.
SPLIT_ABOVE = 2500
GROUP_SIZE = 2000
SINGLE_FILE_MAX = 1000

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # the checkout (harness/output/report.py)
BATCH_SCRIPT = Path(__file__).resolve().parent / "allure_batch.mjs"

USAGE = 4  # the README's exit code for a usage error (bad option, bad input file)


def find_allure() -> str | None:
    override = os.environ.get("HARNESS_ALLURE")
    if override:
        return override
    for base in (Path.cwd(), PROJECT_ROOT):
        exe = base / "node_modules" / ".bin" / "allure"
        if exe.exists():
            return str(exe)
    return shutil.which("allure")


def _no_allure() -> int:
    print(
        "harness report: the Allure CLI is not installed. Fix: run `npm ci` in the project "
        "folder (it installs the version pinned in package-lock.json), or set HARNESS_ALLURE.",
        file=sys.stderr,
    )
    return 3


def _failed(output: Path, code: int, log: str) -> int:
    print(f"harness report: allure generate failed for {output} (exit {code}):", file=sys.stderr)
    print(log[-3000:], file=sys.stderr)
    return code or 1


def generate(
    results: Path,
    output: Path,
    history: Path | None,
    name: str,
    single_file: bool = False,
    *,
    append_history: bool = True,
) -> int:
    exe = find_allure()
    if exe is None:
        return _no_allure()
    if not _replaceable(output):
        return USAGE
    if history is not None:
        history.parent.mkdir(parents=True, exist_ok=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    # Allure writes into a non-empty folder beside what is there (a second run left an
    # `awesome/` report with Google's tag in it): build in a fresh folder, then swap it in, so a
    # rerun gives exactly the files of a first run
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=f".{output.name}-") as tmp:
        fresh = Path(tmp) / "report"
        cfg = Path(tmp) / "allurerc.json"
        cfg.write_text(
            json.dumps(allure_config(fresh.resolve(), history, name, single_file, append_history))
        )
        proc = subprocess.run(
            [
                exe,
                "generate",
                str(results.resolve()),
                "--config",
                str(cfg),
                "--output",
                str(fresh.resolve()),
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode != 0 or not (fresh / "index.html").exists():
            return _failed(output, proc.returncode, proc.stdout + proc.stderr)
        code = _offline(fresh)
        if code:
            return code
        if output.exists():
            shutil.rmtree(output)
        fresh.rename(output)
    return 0


def _replaceable(output: Path) -> bool:
    """An output folder the report may replace: absent, empty, or an earlier report."""
    if not output.exists() or not any(output.iterdir()) or (output / "index.html").is_file():
        return True
    print(
        f"harness report: {output} is not empty and holds no report. Fix: give --output a new "
        "folder or one an earlier report wrote.",
        file=sys.stderr,
    )
    return False


def _offline(output: Path) -> int:
    remote = offline.make_offline(output)
    if remote:
        print(
            "harness report: the report would load content from other hosts when opened: "
            + ", ".join(remote)
            + ". Fix: this Allure version added an outside call; remove it in harness/output/offline.py",
            file=sys.stderr,
        )
        return 1
    return 0


@dataclass(frozen=True)
class Job:
    """One group report for Allure to build."""

    results: Path
    output: Path
    history: Path | None
    name: str
    size: int  # results in it, to share the work out evenly


def batches(jobs: list[Job], workers: int) -> list[list[Job]]:
    """At most `workers` lists, each job in one, the largest first onto the least loaded list,
    so the processes finish close together."""
    lists: list[list[Job]] = [[] for _ in range(max(1, min(workers, len(jobs))))]
    loads = [0] * len(lists)
    for job in sorted(jobs, key=lambda j: -j.size):
        i = loads.index(min(loads))
        lists[i].append(job)
        loads[i] += job.size
    return [b for b in lists if b]


def _allure_core(exe: str) -> Path | None:
    """Allure's library beside its CLI (node_modules/@allurereport/core), for allure_batch.mjs;
    None where it is not there (a global or wrapped CLI): then one CLI call per report."""
    core = Path(exe).resolve().parent.parent / "@allurereport" / "core" / "dist" / "index.js"
    return core if core.is_file() and shutil.which("node") else None


def generate_many(jobs: list[Job], workers: int, tmp: Path) -> int:
    """Build every job's report, with at most `workers` Allure processes at once (Allure is
    busy on one core each; more would only share the cores and add memory)."""
    exe = find_allure()
    if exe is None:
        return _no_allure()
    core = _allure_core(exe)
    if core is None:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            codes = list(
                pool.map(
                    lambda j: generate(
                        j.results, j.output, j.history, j.name, append_history=False
                    ),
                    jobs,
                )
            )
        return next((c for c in codes if c), 0)
    procs = []
    for n, batch in enumerate(batches(jobs, workers)):
        args: list[str] = []
        for i, job in enumerate(batch):
            cfg = tmp / f"allurerc-{n}-{i}.json"
            config = allure_config(job.output.resolve(), job.history, job.name, False, False)
            cfg.write_text(json.dumps(config))
            args += [str(job.results.resolve()), str(cfg)]
        log = (tmp / f"allure-{n}.log").open("w+")
        cmd = ["node", str(BATCH_SCRIPT), core.as_uri(), *args]
        procs.append((subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT), log, batch))
    code = 0
    for proc, log, batch in procs:
        try:
            rc = proc.wait(timeout=600 * len(batch))
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        log.seek(0)
        missing = [j.output for j in batch if not (j.output / "index.html").exists()]
        if (rc or missing) and not code:
            code = _failed(missing[0] if missing else batch[0].output, rc, log.read())
        log.close()
    if code:
        return code
    codes = [_offline(j.output) for j in jobs]  # every page stripped, even after a failure
    return next((c for c in codes if c), 0)


def allure_history(runs: list[hist.Run], ids: list[str], where: Path) -> Path | None:
    if not runs:
        return None
    hist.write_allure(where, runs, ids)
    return where


def build(
    results: Path,
    output: Path,
    index: list[report_groups.Result],
    runs: list[hist.Run],
    name: str,
    by: str,
    group_size: int,
    workers: int,
    ports_found: str = "",
) -> int:
    """One Allure report (by == 'none'), or one per group under an overview page."""
    with tempfile.TemporaryDirectory(dir=output.parent) as tmp:
        work = Path(tmp)
        if by == "none":
            h = allure_history(runs, [r.history_id for r in index], work / "history.jsonl")
            return generate(results, output, h, name, append_history=False)
        groups = report_groups.split(index, by, group_size)
        containers = report_groups.containers(results)
        if not _replaceable(output):
            return USAGE
        if output.exists():
            shutil.rmtree(output)  # group folders of an earlier run must not linger
        output.mkdir(parents=True, exist_ok=True)

        jobs = []
        for group in groups:
            src = work / group.key
            report_groups.materialise(results, group, src, containers)
            ids = [r.history_id for r in group.results]
            h = allure_history(runs, ids, work / f"{group.key}.history.jsonl")
            title = f"{name}: {group.title}"
            jobs.append(Job(src, output / group.key, h, title, len(group.results)))
        code = generate_many(jobs, workers, work)
        if code:
            return code
        previous = runs[-1] if runs else None
        statuses = {r.history_id: r.status for r in index if r.history_id}
        changes = hist.transitions(previous, statuses)
        page = overview.render(name, groups, runs, changes, ports_found)
        overview.write(output / "index.html", page)
    return 0
