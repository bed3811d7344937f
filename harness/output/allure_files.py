"""Files Allure reads from the results folder that allure-pytest has no API for:
environment.properties, executor.json (under CI) and categories.json."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from harness.errors import FailureKind
from harness.policy import catalogue

# First match wins in Allure 3, so the specific "could not measure" reasons come first.
CATEGORIES: list[dict[str, Any]] = [
    *(
        {
            "name": f"Could not measure: {kind.value}",
            "matchedStatuses": ["broken"],
            "messageRegex": rf"[\s\S]*could not measure [\s\S]*\({kind.value}\)[\s\S]*",
        }
        for kind in FailureKind
    ),
    {"name": "Could not measure: other", "matchedStatuses": ["broken"]},
    {"name": "Security findings", "matchedStatuses": ["failed"]},
    # a waived result has no message (Allure shows one in a box titled "Error"): its `waived`
    # label says until when and why, and its description shows the finding it hides
    {"name": "Waived", "matchers": {"statuses": ["skipped"], "labels": {"waived": r"[\s\S]+"}}},
]
# Allure 2 reads categories.json, which knows only statuses and message patterns
ALLURE2_CATEGORIES = [c for c in CATEGORIES if "matchers" not in c]


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def nmap_version() -> str:
    exe = shutil.which("nmap")
    if exe is None:
        return "not installed"
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    first = out.splitlines()[0] if out else ""
    return first.removeprefix("Nmap version ").split(" ")[0] or "unknown"


def catalogue_properties(today: dt.date) -> dict[str, str]:
    """The software catalogue in use (the shipped one or $HARNESS_SOFTWARE_CATALOGUE): its
    snapshot date and age, and a note once it is old, so the report says how fresh
    "outdated" is."""
    try:
        cat = catalogue.load()
    except (OSError, ValueError, KeyError, yaml.YAMLError) as exc:
        return {"version.catalogue.date": f"cannot load: {exc}"}
    props = {
        "version.catalogue.date": str(cat.snapshot),
        "version.catalogue.age.days": str(cat.age(today)),
        "version.catalogue.file": cat.path,
    }
    note = cat.stale_note(today)
    if note:
        props["version.catalogue.note"] = note
    return props


def environment(
    targets_path: Path,
    started: dt.datetime,
    today: dt.date | None = None,
    run_status: str | None = None,
) -> dict[str, str]:
    try:
        digest = hashlib.sha256(targets_path.read_bytes()).hexdigest()[:16]
    except OSError:
        digest = "unreadable"
    return {
        "harness": _version("harness"),
        "sslyze": _version("sslyze"),
        "python-nmap": _version("python-nmap"),
        "nmap": nmap_version(),
        "python": platform.python_version(),
        "targets.file": str(targets_path),
        "targets.sha256": digest,
        "run.started": started.isoformat(timespec="seconds"),
        **({"run.status": run_status} if run_status else {}),
        **catalogue_properties(today or started.date()),
    }


def executor() -> dict[str, Any] | None:
    """Who ran this: GitHub Actions, GitLab CI or a generic CI, from their usual variables."""
    env = os.environ
    if env.get("GITHUB_ACTIONS") == "true":
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        url = f"{server}/{env.get('GITHUB_REPOSITORY', '')}/actions/runs/{env.get('GITHUB_RUN_ID', '')}"
        return {
            "name": "GitHub Actions",
            "type": "github",
            "buildName": f"{env.get('GITHUB_WORKFLOW', 'workflow')} #{env.get('GITHUB_RUN_NUMBER', '')}",
            "buildOrder": int(env.get("GITHUB_RUN_NUMBER", "0") or 0),
            "buildUrl": url,
            "reportName": "harness security report",
        }
    if env.get("GITLAB_CI") == "true":
        return {
            "name": "GitLab CI",
            "type": "gitlab",
            "buildName": f"{env.get('CI_JOB_NAME', 'job')} #{env.get('CI_PIPELINE_IID', '')}",
            "buildOrder": int(env.get("CI_PIPELINE_IID", "0") or 0),
            "buildUrl": env.get("CI_JOB_URL", env.get("CI_PIPELINE_URL", "")),
            "reportName": "harness security report",
        }
    if env.get("CI"):
        return {
            "name": env.get("CI_NAME", "CI"),
            "type": "ci",
            "buildName": env.get("BUILD_TAG", env.get("CI_JOB_NAME", "build")),
            "buildUrl": env.get("BUILD_URL", ""),
        }
    return None


def write(
    results_dir: Path, targets_path: Path, started: dt.datetime, run_status: str | None = None
) -> None:
    results_dir.mkdir(parents=True, exist_ok=True)
    write_environment(results_dir, environment(targets_path, started, run_status=run_status))
    _atomic(results_dir / "categories.json", json.dumps(ALLURE2_CATEGORIES, indent=2))
    info = executor()
    if info is not None:
        _atomic(results_dir / "executor.json", json.dumps(info, indent=2))


def write_environment(results_dir: Path, props: dict[str, str]) -> None:
    lines = [f"{k}={v.replace(chr(10), ' ')}" for k, v in props.items()]
    _atomic(results_dir / "environment.properties", "\n".join(lines) + "\n")


def read_environment(results_dir: Path) -> dict[str, str]:
    try:
        text = (results_dir / "environment.properties").read_text()
    except OSError:
        return {}
    return dict(line.partition("=")[::2] for line in text.splitlines() if "=" in line)


def _atomic(path: Path, text: str) -> None:
    # an interrupted run must never leave a half-written file for Allure to choke on
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def drop_partial(results_dir: Path) -> None:
    """An interrupt can land while allure-pytest writes a file; a half-written JSON file would
    break the report, and the test it describes never finished, so it goes."""
    for path in results_dir.glob("*.json"):
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            path.unlink(missing_ok=True)
