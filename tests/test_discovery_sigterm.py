"""SIGTERM while discovery scans (during collection, before any test runs): the run exits 2
within 5 s, as it does mid-run (test_sigterm), leaving no nmap behind and no traceback, in one
process and on an xdist controller (which discovers before its workers collect).

The target's one port accepts and never speaks, so nmap -sV waits on it for seconds."""

from __future__ import annotations

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
from processes import processes_naming

SUITES = Path(__file__).parents[1] / "suites"
EXIT_WITHIN = 5.0
NOT_OURS = ("-p", "no:hypothesispytest")


@pytest.fixture
def silent() -> Iterator[tuple[str, int]]:
    address = f"127.0.{random.randint(100, 250)}.{random.randint(2, 250)}"
    server = socket.create_server((address, 0))
    server.settimeout(0.1)
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            held.append(conn)  # accepted, never answered

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield address, server.getsockname()[1]
    stop.set()
    thread.join(5)
    server.close()
    for conn in held:
        conn.close()


def _nmaps(address: str) -> list[int]:
    """The nmap processes scanning `address`."""
    return [pid for pid, argv in processes_naming(address) if argv.split(" ")[0].endswith("nmap")]


@pytest.mark.skipif(shutil.which("nmap") is None, reason="nmap is not installed")
@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_sigterm_during_discovery_exits_2_within_5_s(
    tmp_path: Path, silent: tuple[str, int], workers: list[str]
) -> None:
    address, port = silent
    (tmp_path / "targets.yaml").write_text(
        "version: 1\ndefaults: {timeout: 5}\ntargets:\n"
        f"  - name: quiet\n    host: {address}\n"
        f"    ports: {{scan: '{port}', udp: none, expected: [{port}]}}\n"
        "    discover: true\n"
    )
    out = tmp_path / "output.txt"
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "pytest", str(SUITES), "--targets", "targets.yaml"),
            *("-p", "no:cacheprovider", "-p", "no:timeout", *NOT_OURS, *workers),
        ],
        cwd=tmp_path,
        stdout=out.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        end = time.monotonic() + 90
        while not any(b"-sV" in Path(f"/proc/{p}/cmdline").read_bytes() for p in _nmaps(address)):
            assert time.monotonic() < end, out.read_text()[-3000:]
            assert proc.poll() is None, out.read_text()[-3000:]
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            code = None
        seconds = time.monotonic() - signalled
        left = _nmaps(address)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in _nmaps(address):
            os.kill(pid, signal.SIGKILL)
    text = out.read_text()
    assert "harness [discovery]" in text, text[-3000:]
    assert code == pytest.ExitCode.INTERRUPTED, text[-3000:]
    assert seconds < EXIT_WITHIN, f"{seconds:.1f} s"
    assert left == []
    assert "Traceback" not in text, text[-3000:]
