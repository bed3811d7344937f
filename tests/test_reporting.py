"""Allure output of real pytester runs: files, gate, new-vs-known, history, SARIF, and the HTML
report opened in a real headless Chromium."""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import BASE_FLAGS
from plugin_lab import make_lab

from harness.output.report import find_allure
from harness.output.report_groups import category

pytest_plugins = ["pytester"]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def lab(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    return make_lab(pytester, monkeypatch)


def _harness(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_results_folder_files(lab: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/infra")
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    monkeypatch.setenv("GITHUB_RUN_NUMBER", "7")
    lab.runpytest("-p", "no:cacheprovider", "--alluredir", "results")
    results = lab.path / "results"
    props = dict(
        line.split("=", 1) for line in (results / "environment.properties").read_text().splitlines()
    )
    for key in (
        "harness",
        "sslyze",
        "nmap",
        "python",
        "targets.file",
        "targets.sha256",
        "run.started",
        "version.catalogue.date",
    ):
        assert props[key], key
    assert props["targets.file"].endswith("targets.yaml")
    executor = json.loads((results / "executor.json").read_text())
    assert executor["buildUrl"] == "https://github.com/acme/infra/actions/runs/42"
    assert executor["buildOrder"] == 7
    categories = {c["name"]: c for c in json.loads((results / "categories.json").read_text())}
    assert categories["Security findings"]["matchedStatuses"] == ["failed"]
    assert "Waived" not in categories  # Allure 2's file cannot match a label; Allure 3 can
    timeout_rule = re.compile(categories["Could not measure: timeout"]["messageRegex"])
    broken = [
        r
        for r in map(lambda p: json.loads(p.read_text()), results.glob("*-result.json"))
        if r["status"] == "broken"
    ]
    assert broken and all(timeout_rule.fullmatch(r["statusDetails"]["message"]) for r in broken)
    waived = [
        r
        for r in map(lambda p: json.loads(p.read_text()), results.glob("*-result.json"))
        if r["status"] == "skipped"
    ]
    # no message (Allure would box it as an "Error"): the label and the page say it all
    assert not waived[0].get("statusDetails", {}).get("message")
    labels = {lb["name"]: lb["value"] for lb in waived[0]["labels"]}
    assert labels["waived"].startswith("waived until 2999-01-01 by dba-team")
    assert "The finding it hides:" in waived[0]["description"]
    assert category("skipped", "", labels) == "Waived"


def test_no_executor_file_outside_ci(lab: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("CI", "GITHUB_ACTIONS", "GITLAB_CI"):
        monkeypatch.delenv(var, raising=False)
    lab.runpytest("-p", "no:cacheprovider", "--alluredir", "results")
    assert not (lab.path / "results" / "executor.json").exists()


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["-k", "web-01"], 1),  # a medium finding fails by default
        (["-k", "web-01", "--fail-on", "medium"], 1),
        (["-k", "web-01", "--fail-on", "high"], 0),  # below the gate: reported, not failing
        (["-k", "down-01", "--fail-on", "critical"], 1),  # could not measure always fails
        (["-k", "db-01", "--fail-on", "low"], 0),  # waived
    ],
)
def test_severity_gate(lab: pytest.Pytester, args: list[str], code: int) -> None:
    result = lab.runpytest("-p", "no:cacheprovider", *args)
    assert result.ret == code


def test_gate_keeps_findings_in_the_report(lab: pytest.Pytester) -> None:
    result = lab.runpytest(
        "-p", "no:cacheprovider", "-k", "web-01", "--fail-on", "critical", "--alluredir", "r"
    )
    assert result.ret == 0
    statuses = [json.loads(p.read_text())["status"] for p in (lab.path / "r").glob("*-result.json")]
    assert "failed" in statuses


def test_new_versus_known(lab: pytest.Pytester) -> None:
    args = [
        "-p",
        "no:cacheprovider",
        "-k",
        "web-01",
        "--known-findings",
        "known.json",
        "--alluredir",
        "r1",
    ]
    first = lab.runpytest(*args)
    assert "new since the previous run: 1" not in first.stdout.str()  # no previous run yet
    second = lab.runpytest(*args[:-1], "r2")
    assert "new since the previous run: 0" in second.stdout.str()
    labels = [
        {lb["name"]: lb["value"] for lb in json.loads(p.read_text())["labels"]}
        for p in (lab.path / "r2").glob("*-result.json")
    ]
    assert [lb["finding"] for lb in labels if "finding" in lb] == ["known"]
    assert [lb["first_seen"] for lb in labels if "first_seen" in lb]  # the age travels as a label
    # a finding that appears later is new, and the summary names it
    lab.makepyfile(
        countingprobe=(lab.path / "countingprobe.py")
        .read_text()
        .replace("[80, 8080]", "[80, 8080, 23]")
    )
    third = lab.runpytest(*args[:-1], "r3")
    out = third.stdout.str()
    assert "new since the previous run: 1" in out
    assert "[new since the previous run: port 23 is open and not declared] Unexpected open" in out
    rows = json.loads((lab.path / "known.json").read_text())["findings"]
    assert [r["id"] for r in rows] == [
        "ports.unexpected@web-01#23/tcp",
        "ports.unexpected@web-01#8080/tcp",
    ]
    assert "first seen " in out and " days open)" in out
    # a finding that goes away is listed as fixed
    lab.makepyfile(
        countingprobe=(lab.path / "countingprobe.py").read_text().replace("[80, 8080, 23]", "[80]")
    )
    fourth = lab.runpytest(*args[:-1], "r4").stdout.str()
    assert "fixed since the previous run: 2" in fourth
    assert "fixed: ports.unexpected on web-01" in fourth


def test_sarif_export(lab: pytest.Pytester) -> None:
    lab.runpytest("-p", "no:cacheprovider", "--alluredir", "results")
    out = _harness("sarif", "--results", "results", "--output", "out.sarif", cwd=lab.path)
    assert out.returncode == 1, out.stderr  # down-01 could not be measured: incomplete
    doc = json.loads((lab.path / "out.sarif").read_text())
    run = doc["runs"][0]
    assert doc["version"] == "2.1.0"
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} >= {"ports.unexpected", "tls.grade"}
    [finding] = [r for r in run["results"] if "suppressions" not in r]  # db-01's is waived
    assert finding["ruleId"] == "ports.unexpected"
    assert finding["level"] == "warning"
    assert "port 8080 is open" in finding["message"]["text"]


needs_allure = pytest.mark.skipif(find_allure() is None, reason="Allure CLI missing: run `npm ci`")


@needs_allure
def test_history_spans_runs(lab: pytest.Pytester) -> None:
    for _ in range(2):
        lab.runpytest("-p", "no:cacheprovider", "--alluredir", "results", "--clean-alluredir")
        out = _harness(
            "report",
            "--results",
            "results",
            "--output",
            "report",
            "--history",
            "history.jsonl",
            cwd=lab.path,
        )
        assert out.returncode == 1 and "incomplete" in out.stderr  # down-01 was not measured
    assert len((lab.path / "history.jsonl").read_text().splitlines()) == 2
    assert "report: " in out.stdout and (lab.path / "report" / "index.html").exists()


@needs_allure
def test_report_refuses_results_older_than_the_last_run(lab: pytest.Pytester) -> None:
    """Plain `pytest suites/` writes no Allure results; the report then says so instead of
    rebuilding the previous run's results as if they were this one's."""
    (lab.path / "reports").mkdir()
    results = "reports/allure-results"
    lab.runpytest("-p", "no:cacheprovider", "--alluredir", results)
    out = _harness("report", "--results", results, "--history", "none", cwd=lab.path)
    assert out.returncode == 1 and "incomplete" in out.stderr  # built; down-01 not measured
    time.sleep(6)  # past the marker's tolerance for a file system's coarse times
    lab.runpytest("-p", "no:cacheprovider")  # a run that writes no results
    out = _harness("report", "--results", results, "--history", "none", cwd=lab.path)
    assert out.returncode == 4, out.stdout  # a usage error: README's exit codes
    assert "older than the last run of the suites" in out.stderr
    assert "wrote no Allure results" in out.stderr and "--alluredir" in out.stderr
    assert "Traceback" not in out.stderr
    out = _harness(
        "report", "--results", results, "--history", "none", "--allow-older", cwd=lab.path
    )
    assert out.returncode == 1 and "older" not in out.stderr, out.stderr  # built, as asked
    # fresh results again (a second run into the folder must say so: --clean-alluredir)
    lab.runpytest("-p", "no:cacheprovider", "--alluredir", results, "--clean-alluredir")
    out = _harness("report", "--results", results, "--history", "none", cwd=lab.path)
    assert out.returncode == 1 and "older" not in out.stderr, out.stderr


def test_report_without_results_is_a_clear_error(tmp_path: Path) -> None:
    out = _harness("report", "--results", str(tmp_path / "none"), cwd=tmp_path)
    assert out.returncode == 4
    assert "no Allure results" in out.stderr and "Traceback" not in out.stderr


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "site"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined, method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", root
    server.shutdown()


CHROMIUM_FLAGS = [
    *BASE_FLAGS,
    "--window-size=1400,900",
    "--virtual-time-budget=20000",
]


@needs_allure
def test_report_in_a_real_browser(
    lab: pytest.Pytester, served: tuple[str, Path], tmp_path: Path
) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Debian's chromium is required (scripts/setup.sh installs it)"
    lab.runpytest("-p", "no:cacheprovider", "--alluredir", "results")
    url, site = served
    out = _harness(
        "report", "--results", "results", "--output", str(site), "--history", "none", cwd=lab.path
    )
    assert out.returncode == 1, out.stderr  # built, and incomplete: down-01 was not measured
    dom = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile1'}", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", dom[dom.find("<body") :], flags=re.S)
    text = " ".join(re.sub(r"<[^>]+>", " ", body).split())
    # the run had 6 results: 2 passed, 1 failed, 1 skipped (waived), 2 broken
    assert "Total 6" in text
    assert "Failed 1" in text and "Broken 2" in text and "Skipped 1" in text
    shot = ROOT / "reports" / "report-browser-test.png"
    shot.parent.mkdir(exist_ok=True)
    subprocess.run(
        [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile2'}",
            f"--screenshot={shot}",
            url,
        ],
        capture_output=True,
        timeout=120,
    )
    assert shot.stat().st_size > 10_000
