"""Fail closed where results land: real runs of the logins suite against real login servers on
127.0.0.1, then what `harness sarif` and `harness report` say about them and exit with.

A complete run; a dead host; SIGTERM and SIGKILL mid-run; a results folder on a full
filesystem; a second run into the same folder; and the carried-forward findings of a host that
could not be reached on the second night.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hostile_servers as hs
import pytest
from login_servers import HOST, Config, LoginApp

from harness.output.report import find_allure

SUITE = Path(__file__).parents[1] / "suites" / "test_logins.py"
HEADER = "version: 1\ndefaults: {timeout: 2, login_delay: 0}\ntargets:\n"


def _target(name: str, url: str) -> str:
    return f"  - name: {name}\n    host: {HOST}\n    logins: [{{kind: http-basic, url: '{url}'}}]\n"


def _closed_port() -> int:
    """A port nothing listens on: bound, then released (connections are refused)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _folder(d: Path, targets: str) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / "targets.yaml").write_text(targets)
    shutil.copy(SUITE, d / "test_logins.py")
    return d


def _cmd(*args: str) -> list[str]:
    return [
        *(sys.executable, "-m", "pytest", "test_logins.py", "--targets", "targets.yaml"),
        *("-p", "no:cacheprovider", "-p", "no:timeout", "-q", "-rN", *args),
    ]


def _run(d: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_cmd(*args), cwd=d, capture_output=True, text=True, timeout=300)


def _sarif(d: Path, results: str) -> tuple[int, dict[str, Any], str]:
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "harness.cli", "sarif", "--results", results),
            *("--output", f"{results}.sarif", "--source-root", "."),
        ],
        cwd=d,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc.returncode, json.loads((d / f"{results}.sarif").read_text()), proc.stderr


def _manifests(results: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(results.glob("harness-run-*.json"))]


def _report(d: Path, results: str) -> tuple[int, str]:
    """`harness report`; the report's first page, as text."""
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "harness.cli", "report", "--results", results),
            *("--output", f"{results}-report", "--history", "none"),
        ],
        cwd=d,
        capture_output=True,
        text=True,
        timeout=600,
    )
    page = d / f"{results}-report" / "index.html"
    assert page.is_file(), proc.stdout + proc.stderr
    return proc.returncode, page.read_text()


def _environment(results: Path) -> dict[str, str]:
    text = (results / "environment.properties").read_text()
    return dict(line.partition("=")[::2] for line in text.splitlines())


@pytest.fixture
def weak() -> Iterator[LoginApp]:
    app = LoginApp(Config(accounts={"admin": "admin"}))
    yield app
    app.close()


needs_allure = pytest.mark.skipif(find_allure() is None, reason="the Allure CLI: run `npm ci`")


@needs_allure
def test_complete_run_reads_complete_and_a_second_run_into_its_folder_is_refused(
    tmp_path: Path, weak: LoginApp
) -> None:
    d = _folder(tmp_path, HEADER + _target("quick", weak.url("/admin")))
    first = _run(d, "--alluredir", "allure")
    assert first.returncode == 1, first.stdout[-2000:]  # findings, nothing broken
    [m] = _manifests(d / "allure")
    assert m["finished"] and not m["interrupted"] and m["unmeasured"] == {}
    assert m["expected"] == m["measured"] == ["quick:http-basic:" + str(weak.port)]
    assert m["exit_status"] == 1 and len(m["targets_sha256"]) == 64
    code, doc, _ = _sarif(d, "allure")
    assert code == 0
    assert doc["runs"][0]["invocations"] == [{"executionSuccessful": True}]
    assert doc["runs"][0]["results"]
    assert _environment(d / "allure")["run.status"] == "complete"
    code, page = _report(d, "allure")
    assert code == 0 and "INCOMPLETE" not in page

    again = _run(d, "--alluredir", "allure")
    assert again.returncode == pytest.ExitCode.USAGE_ERROR
    assert "already holds results of another run" in again.stdout + again.stderr
    assert "--append" in again.stdout + again.stderr
    assert len(_manifests(d / "allure")) == 1

    joined = _run(d, "--alluredir", "allure", "--append")
    assert joined.returncode == 1, joined.stdout[-2000:]
    assert len(_manifests(d / "allure")) == 2
    fresh = _run(d, "--alluredir", "allure", "--clean-alluredir")
    assert fresh.returncode == 1, fresh.stdout[-2000:]
    assert len(_manifests(d / "allure")) == 1


@needs_allure
def test_a_dead_host_makes_the_sarif_and_the_report_say_incomplete(
    tmp_path: Path, weak: LoginApp
) -> None:
    dead = f"http://{HOST}:{_closed_port()}/admin"
    d = _folder(tmp_path, HEADER + _target("quick", weak.url("/admin")) + _target("dead", dead))
    run = _run(d, "--alluredir", "allure")
    assert run.returncode == 1, run.stdout[-2000:]
    [m] = _manifests(d / "allure")
    dead_key = next(k for k in m["expected"] if k.startswith("dead:"))
    assert m["finished"] and list(m["unmeasured"]) == [dead_key]
    assert "refused" in m["unmeasured"][dead_key]

    code, doc, err = _sarif(d, "allure")
    assert code == 1, err
    inv = doc["runs"][0]["invocations"][0]
    assert inv["executionSuccessful"] is False
    [note] = inv["toolExecutionNotifications"]
    assert dead_key in note["message"]["text"] and "refused" in note["message"]["text"]
    assert "incomplete" in err

    status = _environment(d / "allure")["run.status"]
    assert status.startswith("incomplete") and "could not be measured" in status
    code, page = _report(d, "allure")
    assert code == 1
    assert "INCOMPLETE RUN" in page


def _start(d: Path, *args: str) -> tuple[subprocess.Popen[str], Path]:
    out = d / "output.txt"
    proc = subprocess.Popen(
        _cmd(*args), cwd=d, stdout=out.open("w"), stderr=subprocess.STDOUT, text=True
    )
    return proc, out


def _wait_for(out: Path, text: str, seconds: float) -> None:
    end = time.monotonic() + seconds
    while text not in out.read_text():
        assert time.monotonic() < end, f"no {text!r} in:\n{out.read_text()[-2000:]}"
        time.sleep(0.05)


@pytest.fixture
def tarpit() -> Iterator[hs.Hostile]:
    server = hs.Hostile(hs.tarpit)
    yield server
    server.close()


@needs_allure
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_run_stopped_part_way_never_reads_as_clean(
    tmp_path: Path, weak: LoginApp, tarpit: hs.Hostile, sig: signal.Signals
) -> None:
    """Stopped while the tarpit is probed: SIGTERM ends the run as interrupted, SIGKILL leaves
    the manifest that says "not finished"; either way SARIF and report say incomplete."""
    slow = f"http://{HOST}:{tarpit.port}"
    targets = (
        HEADER
        + _target("quick", weak.url("/admin"))
        + f"  - name: tarpit\n    host: {HOST}\n    timeout: 20\n    logins: [\n"
        + f"      {{kind: http-basic, url: '{slow}/a'}},\n"
        + f"      {{kind: http-basic, url: '{slow}/b'}},\n"
        + f"      {{kind: http-basic, url: '{slow}/c'}}]\n"
    )
    d = _folder(tmp_path, targets)
    proc, out = _start(d, "--alluredir", "allure", *("--known-findings", "known.json"))
    _wait_for(out, "[logins] quick:", 60)
    _wait_for(out, "[logins] still working on tarpit", 60)  # quick's tests have run by now
    assert _manifests(d / "allure")
    proc.send_signal(sig)
    code = proc.wait(timeout=120)
    [m] = _manifests(d / "allure")
    if sig == signal.SIGKILL:
        assert code == -signal.SIGKILL
        assert m["finished"] is False
        assert _environment(d / "allure")["run.status"].startswith("not finished")
    else:
        assert code == pytest.ExitCode.INTERRUPTED, out.read_text()[-2000:]
        assert m["finished"] and m["interrupted"]
        assert any(k.startswith("tarpit:") for k in m["unmeasured"])

    code, doc, err = _sarif(d, "allure")
    assert code == 1, err
    inv = doc["runs"][0]["invocations"][0]
    assert inv["executionSuccessful"] is False
    texts = " ".join(n["message"]["text"] for n in inv["toolExecutionNotifications"])
    assert ("did not finish" if sig == signal.SIGKILL else "interrupted") in texts
    code, page = _report(d, "allure")
    assert code == 1 and "INCOMPLETE RUN" in page


def test_carried_forward_a_host_unreachable_on_night_2_keeps_its_findings(
    tmp_path: Path,
) -> None:
    app = LoginApp(Config(accounts={"admin": "admin"}))
    logins = f"[{{kind: http-basic, url: '{app.url('/admin')}'}}, " + (
        f"{{kind: http-json, url: '{app.url('/api/login')}'}}]"
    )
    d = _folder(tmp_path, HEADER + f"  - name: web\n    host: {HOST}\n    logins: {logins}\n")
    try:
        night1 = _run(d, "--alluredir", "night1", "--known-findings", "known.json")
    finally:
        app.close()  # night 2: the host is down
    assert night1.returncode == 1, night1.stdout[-2000:]
    code, doc1, _ = _sarif(d, "night1")
    assert code == 0
    found = {r["properties"]["finding"] for r in doc1["runs"][0]["results"]}
    assert len(found) >= 3, found

    night2 = _run(d, "--alluredir", "night2", "--known-findings", "known.json")
    assert night2.returncode == 1 and "could not measure" in night2.stdout
    code, doc2, err = _sarif(d, "night2")
    assert code == 1, err
    run = doc2["runs"][0]
    assert run["invocations"][0]["executionSuccessful"] is False
    carried = {r["properties"]["finding"]: r for r in run["results"]}
    assert set(carried) == found
    today = dt.date.today().isoformat()
    fingerprints = {
        r["properties"]["finding"]: r["partialFingerprints"] for r in doc1["runs"][0]["results"]
    }
    for fid, result in carried.items():
        assert result["properties"]["notReMeasured"] is True
        assert result["properties"]["lastSeen"] == today
        assert "not re-measured" in result["message"]["text"]
        assert result["partialFingerprints"] == fingerprints[fid]  # the same alert stays open
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
            "targets.yaml"
        )


@pytest.fixture
def full_fs(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "full"
    where.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=48k", "tmpfs", str(where)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (root needed): {made.stderr!r}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@needs_allure
def test_a_results_folder_on_a_full_filesystem_reads_as_not_finished(
    tmp_path: Path, weak: LoginApp, full_fs: Path
) -> None:
    targets = HEADER + "".join(_target(f"t{i}", weak.url("/admin")) for i in range(6))
    d = _folder(tmp_path / "repo", targets)
    run = _run(d, "--alluredir", str(full_fs))
    assert run.returncode == pytest.ExitCode.INTERNAL_ERROR, run.stdout[-2000:]
    assert "could not be written" in run.stdout
    [m] = _manifests(full_fs)
    assert m["finished"] is False  # the end could not be recorded: it still says so
    shutil.copytree(full_fs, d / "copied")  # the consumers write beside the results
    code, doc, err = _sarif(d, "copied")
    assert code == 1, err
    assert doc["runs"][0]["invocations"][0]["executionSuccessful"] is False
    code, page = _report(d, "copied")
    assert code == 1 and "INCOMPLETE RUN" in page


def test_results_without_a_manifest_cannot_stand_in_for_a_run(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    code, doc, err = _sarif(tmp_path, "empty")
    assert code == 6
    inv = doc["runs"][0]["invocations"][0]
    assert inv["executionSuccessful"] is False
    assert "no run manifest" in inv["toolExecutionNotifications"][0]["message"]["text"]
    assert "do not upload" in err
