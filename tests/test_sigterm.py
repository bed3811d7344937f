"""SIGTERM (a cancelled CI job) stops the probes: within 5 s of the signal the run has exited 2,
no new connection reached the target after it, no nmap is left running, and every Allure file
on disk is valid JSON. A SIGTERM at the very end of a run (while the session finishes, the
summary is written or the plugins unconfigure) also exits 2, without a traceback.

The mid-run test scans, logs in to and TLS-probes a real slow server on its own loopback
address: it answers an HTTP request after a pause and anything else never, so nmap -sV, the
login attempts and sslyze are all at work when the signal comes. The server timestamps every
accept.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from plugin_lab import make_lab
from processes import processes_naming

pytest_plugins = ["pytester"]

SUITES = Path(__file__).parents[1] / "suites"
EXIT_WITHIN = 5.0  # the bound the README promises after a SIGTERM
# hypothesis, a dependency of this repository's tests and not of the harness, imports itself in
# its terminal summary: seconds of CPU on a loaded machine, which a harness run does not spend
NOT_OURS = ("-p", "no:hypothesispytest")
UNDER_WAY = 0.5  # a connect() issued just before the signal may be accepted just after it
ANSWER_AFTER = 1.0  # the slow server's pause before it answers a request


class SlowServer:
    """Accepts at once, answers an HTTP request with 401 after ANSWER_AFTER s, never speaks
    first; records when each connection was accepted (time.monotonic)."""

    def __init__(self, host: str) -> None:
        self.accepted: list[float] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.sock = socket.create_server((host, 0), backlog=128)
        self.sock.settimeout(0.1)
        self.port: int = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.accepted.append(time.monotonic())
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        conn.settimeout(0.2)
        data = b""
        end = time.monotonic() + 30
        with conn:
            while b"\r\n\r\n" not in data and time.monotonic() < end and not self._stop.is_set():
                try:
                    chunk = conn.recv(4096)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not chunk:
                    return
                data += chunk
            if b"\r\n\r\n" not in data:
                return
            self._stop.wait(ANSWER_AFTER)
            try:
                conn.sendall(
                    b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=x\r\n"
                    b"Content-Length: 0\r\nConnection: close\r\n\r\n"
                )
            except OSError:
                return

    def accepted_after(self, moment: float, grace: float) -> list[float]:
        """Seconds after `moment` of each connection accepted more than `grace` s after it."""
        with self._lock:
            return [t - moment for t in self.accepted if t > moment + grace]

    def count(self) -> int:
        with self._lock:
            return len(self.accepted)

    def close(self) -> None:
        self._stop.set()
        self.sock.close()


@pytest.fixture
def address() -> str:
    # an address of its own, so the nmap processes of this run can be told apart in /proc
    return f"127.0.{random.randint(100, 250)}.{random.randint(2, 250)}"


@pytest.fixture
def server(address: str) -> Iterator[SlowServer]:
    srv = SlowServer(address)
    yield srv
    srv.close()


def _wait_until(condition: object, seconds: float, what: str, out: Path) -> None:
    end = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < end, f"never saw {what}:\n{out.read_text()[-3000:]}"
        time.sleep(0.05)


def _check_allure(folder: Path) -> int:
    """Every file in allure-results is complete: valid JSON, no temporary file left."""
    assert not list(folder.glob("*.tmp")), sorted(p.name for p in folder.iterdir())
    results = 0
    for path in folder.glob("*.json"):
        json.loads(path.read_text())  # raises on a half-written file
        results += path.name.endswith("-result.json")
    return results


@pytest.mark.skipif(shutil.which("nmap") is None, reason="nmap is not installed")
@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_sigterm_mid_run_stops_connections_and_nmap_within_5_s(
    tmp_path: Path, server: SlowServer, address: str, workers: list[str]
) -> None:
    urls = [f"http://{address}:{server.port}/{p}" for p in ("admin", "manager", "console")]
    logins = ", ".join(f"{{kind: http-basic, url: '{u}'}}" for u in urls)
    (tmp_path / "targets.yaml").write_text(
        "version: 1\n"
        "defaults: {timeout: 3, login_delay: 0, connections_per_host: 4}\n"
        "targets:\n"
        f"  - name: slow\n    host: {address}\n"
        f"    ports: {{scan: '{server.port}', udp: none, expected: [{server.port}]}}\n"
        f"    tls: [{{port: {server.port}}}]\n"
        f"    logins: [{logins}]\n"
    )
    for suite in ("test_ports.py", "test_logins.py", "test_tls.py"):
        shutil.copy(SUITES / suite, tmp_path / suite)
    out = tmp_path / "output.txt"
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "pytest", "test_ports.py", "test_logins.py", "test_tls.py"),
            *("--targets", "targets.yaml", "--alluredir", "allure"),
            *("-p", "no:cacheprovider", "-p", "no:timeout", *NOT_OURS, *workers),
        ],
        cwd=tmp_path,
        stdout=out.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        # both at work: nmap identifying the slow port, and the login attempts
        _wait_until(
            lambda: any("-sV" in a for _, a in processes_naming(address)),
            90,
            "nmap -sV running",
            out,
        )
        _wait_until(lambda: server.count() >= 4, 60, "login attempts", out)
        proc.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            code = None
        exit_seconds = time.monotonic() - signalled
        left = processes_naming(address)
        late = server.accepted_after(signalled, UNDER_WAY)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid, _ in processes_naming(address):  # never leave a stray nmap behind
            os.kill(pid, signal.SIGKILL)
    text = out.read_text()
    at = f" (at +{', +'.join(f'{t:.1f}' for t in late)} s)" if late else ""
    print(
        f"SIGTERM: exit code {code}, {exit_seconds:.1f} s after the signal; {len(late)} "
        f"connection(s) accepted more than {UNDER_WAY} s after it{at}; {len(left)} nmap "
        "process(es) left"
    )
    assert code == pytest.ExitCode.INTERRUPTED, text[-3000:]
    assert exit_seconds < EXIT_WITHIN, f"{exit_seconds:.1f} s"
    assert late == [], f"new connections at +{late} s after the signal"
    assert left == [], left
    assert "Traceback" not in text, text[-3000:]
    _check_allure(tmp_path / "allure")


SLOW_END = """
import time
from pathlib import Path
import pytest

@pytest.hookimpl({order})
def {hook}({args}):
    Path("in-the-end").write_text("now")  # the test sends SIGTERM when it sees this
    time.sleep(4)
"""

LATE = {
    "pytest_sessionfinish": ("tryfirst=True", "session"),
    "pytest_terminal_summary": ("trylast=True", "terminalreporter"),
    "pytest_unconfigure": ("tryfirst=True", "config"),
}


@pytest.mark.parametrize("hook", list(LATE))
def test_sigterm_at_the_end_of_a_run_exits_2_without_a_traceback(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, hook: str
) -> None:
    lab = make_lab(pytester, monkeypatch)
    order, args = LATE[hook]
    conftest = lab.path / "conftest.py"
    conftest.write_text(conftest.read_text() + SLOW_END.format(order=order, hook=hook, args=args))
    out = lab.path / "output.txt"
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "pytest", "--alluredir", "allure"),
            *("-p", "no:cacheprovider", "-p", "no:timeout"),
        ],
        cwd=lab.path,
        stdout=out.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_until((lab.path / "in-the-end").exists, 60, f"{hook} under way", out)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = out.read_text()
    assert code == pytest.ExitCode.INTERRUPTED, text[-3000:]
    assert "Traceback" not in text and "KeyboardInterrupt" not in text, text[-3000:]
    assert _check_allure(lab.path / "allure") > 0


def test_children_of_lists_live_children_only() -> None:
    """What an xdist controller passes the signal on to: its own children, found in /proc."""
    from harness.session.interrupts import children_of

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in children_of(os.getpid())
        assert child.pid not in children_of(child.pid)
    finally:
        child.kill()
        child.wait()
    assert child.pid not in children_of(os.getpid())
