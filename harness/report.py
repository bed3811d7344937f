"""`harness report`: build the Allure 3 HTML report from allure-results, keeping history.

Allure 3 (npm `allure`, pinned in package.json) needs only Node.js, which CI images have; Allure 2
needs a Java runtime too. History lives in one JSONL file under reports/, which CI carries from
run to run, so the trend graphs span many runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from harness.allure_files import CATEGORIES

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def find_allure() -> str | None:
    override = os.environ.get("HARNESS_ALLURE")
    if override:
        return override
    for base in (Path.cwd(), PROJECT_ROOT):
        exe = base / "node_modules" / ".bin" / "allure"
        if exe.exists():
            return str(exe)
    return shutil.which("allure")


def _config(output: Path, history: Path | None, name: str, single_file: bool) -> dict[str, object]:
    config: dict[str, object] = {
        "name": name,
        "output": str(output),
        "plugins": {
            "awesome": {
                "options": {
                    "reportName": name,
                    "singleFile": single_file,
                    # a reviewer reads the report host by host, then area by area
                    "groupBy": ["parentSuite", "epic"],
                }
            }
        },
        "categories": {"rules": CATEGORIES},
    }
    if history is not None:
        config["historyPath"] = str(history)
    return config


def generate(
    results: Path, output: Path, history: Path | None, name: str, single_file: bool = False
) -> int:
    exe = find_allure()
    if exe is None:
        print(
            "harness report: the Allure CLI is not installed. Fix: run `npm ci` in the project "
            "folder (it installs the version pinned in package-lock.json), or set HARNESS_ALLURE.",
            file=sys.stderr,
        )
        return 3
    if history is not None:
        history.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "allurerc.json"
        cfg.write_text(json.dumps(_config(output.resolve(), history, name, single_file)))
        proc = subprocess.run(
            [
                exe,
                "generate",
                str(results.resolve()),
                "--config",
                str(cfg),
                "--output",
                str(output.resolve()),
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
    if proc.returncode != 0 or not (output / "index.html").exists():
        print(f"harness report: allure generate failed (exit {proc.returncode}):", file=sys.stderr)
        print((proc.stdout + proc.stderr)[-3000:], file=sys.stderr)
        return proc.returncode or 1
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="harness report", description=__doc__)
    parser.add_argument("--results", default="reports/allure-results", type=Path)
    parser.add_argument("--output", default="reports/allure-report", type=Path)
    parser.add_argument(
        "--history",
        default="reports/history.jsonl",
        help="Allure 3 history file carried between runs ('none' to disable)",
    )
    parser.add_argument(
        "--single-file", metavar="PATH", type=Path, help="also write a one-file HTML report here"
    )
    parser.add_argument("--name", default="Security harness")
    args = parser.parse_args(argv)
    results: Path = args.results
    if not results.is_dir() or not any(results.glob("*-result.json")):
        print(
            f"harness report: no Allure results in {results}. Fix: run "
            f"`pytest suites/ --alluredir {results}` first.",
            file=sys.stderr,
        )
        return 2
    history = None if args.history == "none" else Path(args.history)
    code = generate(results, args.output, history, args.name)
    if code:
        return code
    print(f"report: {(args.output / 'index.html').resolve()}")
    if args.single_file:
        with tempfile.TemporaryDirectory() as tmp:
            code = generate(results, Path(tmp), None, args.name, single_file=True)
            if code:
                return code
            args.single_file.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(tmp) / "index.html", args.single_file)
        print(f"single-file report: {args.single_file.resolve()}")
    return 0
