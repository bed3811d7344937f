"""Ctrl-C or SIGTERM in the middle of a run, while a tarpit is being probed: the run exits
non-zero, soon, with a summary and an allure-results folder in which every JSON file is valid;
a second run at the same time, into another folder, finishes untouched.

pytest turns SIGINT into KeyboardInterrupt; the harness plugin does the same for SIGTERM
(Python's default would end the process on the spot, without the summary or the run's Allure
files). After the interrupt nothing new is sent and the exchanges under way are cut
(probes.stopping; tests/test_sigterm.py counts connections and nmap processes).
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hostile_servers as hs
import pytest
from login_servers import HOST, Config, LoginApp
from plugin_lab import make_lab

pytest_plugins = ["pytester"]

SUITE = Path(__file__).parents[1] / "suites" / "test_logins.py"
TIMEOUT = 3.0
EXIT_BOUND = 3 * TIMEOUT + 10  # after the signal: the exchange under way, then cleanup


@pytest.fixture
def servers() -> Iterator[tuple[hs.Hostile, LoginApp, LoginApp]]:
    tarpit = hs.Hostile(hs.tarpit)
    a, b = LoginApp(Config(accounts={"admin": "admin"})), LoginApp(Config(accounts={}))
    yield tarpit, a, b
    tarpit.close()
    a.close()
    b.close()


def _start(d: Path, targets: str) -> tuple[subprocess.Popen[str], Path]:
    d.mkdir()
    (d / "targets.yaml").write_text(targets)
    shutil.copy(SUITE, d / "test_logins.py")
    out = d / "output.txt"
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "pytest", "test_logins.py", "--targets", "targets.yaml"),
            *("-p", "no:cacheprovider", "--alluredir", "allure", "-p", "no:timeout"),
        ],
        cwd=d,
        stdout=out.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
    )
    return proc, out


def _results(d: Path) -> dict[tuple[str, str], str]:
    """(target, check) -> status, after checking that every JSON file there is valid."""
    found: dict[tuple[str, str], str] = {}
    for path in (d / "allure").glob("*.json"):
        data: Any = json.loads(path.read_text())  # raises on a half-written file
        if path.name.endswith("-result.json"):
            labels = {lb["name"]: lb["value"] for lb in data["labels"]}
            found[(labels["target"], labels["check"])] = data["status"]
    return found


def _wait_for(out: Path, text: str, seconds: float) -> None:
    end = time.monotonic() + seconds
    while text not in out.read_text():
        assert time.monotonic() < end, f"no {text!r} in:\n{out.read_text()[-2000:]}"
        time.sleep(0.05)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_mid_run_leaves_valid_results_and_does_not_touch_another_run(
    tmp_path: Path, servers: tuple[hs.Hostile, LoginApp, LoginApp], sig: signal.Signals
) -> None:
    tarpit, weak, other = servers
    header = f"version: 1\ndefaults: {{timeout: {TIMEOUT:g}, login_delay: 0}}\ntargets:\n"
    slow = f"http://{HOST}:{tarpit.port}"
    interrupted, out_a = _start(
        tmp_path / "a",
        header
        + f"  - name: quick\n    host: {HOST}\n"
        + f"    logins: [{{kind: http-basic, url: '{weak.url('/admin')}'}}]\n"
        + f"  - name: tarpit\n    host: {HOST}\n    logins: [\n"
        + f"      {{kind: http-basic, url: '{slow}/admin'}},\n"
        + f"      {{kind: http-form, url: '{slow}/login', failure_text: Invalid}},\n"
        + f"      {{kind: http-json, url: '{slow}/api/login'}}]\n",
    )
    beside, out_b = _start(
        tmp_path / "b",
        header
        + f"  - name: other\n    host: {HOST}\n"
        + f"    logins: [{{kind: http-basic, url: '{other.url('/admin')}'}}]\n",
    )
    # the quick target's results are in; the tarpit's three endpoints take 3 x 3 s in a row
    _wait_for(out_a, "[logins] quick:", 60)
    _wait_for(out_a, "test_logins.py", 60)
    time.sleep(1.0)
    interrupted.send_signal(sig)
    signalled = time.monotonic()
    code_a = interrupted.wait(timeout=120)
    exit_seconds = time.monotonic() - signalled
    code_b = beside.wait(timeout=120)
    text_a = out_a.read_text()
    print(f"{sig.name}: exit code {code_a}, {exit_seconds:.1f} s after the signal")

    assert code_a == pytest.ExitCode.INTERRUPTED, text_a[-2000:]
    assert exit_seconds < EXIT_BOUND, f"{exit_seconds:.1f} s"
    assert "KeyboardInterrupt" in text_a and "harness summary" in text_a
    a = _results(tmp_path / "a")  # every JSON file valid
    assert {s for (t, _), s in a.items() if t == "quick"} >= {"failed"}  # weak admin/admin
    assert not any(t == "other" for t, _ in a)
    allure_a = tmp_path / "a" / "allure"
    assert (allure_a / "categories.json").is_file()
    assert (allure_a / "environment.properties").is_file()

    assert code_b == 1, out_b.read_text()[-2000:]  # findings (cleartext), nothing broken
    b = _results(tmp_path / "b")
    assert {t for t, _ in b} == {"other"} and len(b) == 6
    assert "broken" not in b.values() and "could not measure: 0" in out_b.read_text()


HALF_WRITTEN = """
import pytest
from pathlib import Path

@pytest.mark.check("ports.unexpected")
def test_interrupted_while_allure_writes(subject, measurement, judge, request):
    if subject.key == "db-01":
        # what an interrupt in the middle of allure-pytest's json.dump leaves behind
        (Path(request.config.option.allure_report_dir) / "0000-result.json").write_text('{"na')
        raise KeyboardInterrupt
"""


def test_a_half_written_result_file_is_dropped_after_an_interrupt(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = make_lab(pytester, monkeypatch)
    (lab.path / "test_suite.py").write_text(HALF_WRITTEN)
    result = lab.runpytest_subprocess("--alluredir", "allure", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    allure = lab.path / "allure"
    assert not (allure / "0000-result.json").exists()
    assert list(allure.glob("*-result.json"))  # web-01's result was kept
    _results(lab.path)
