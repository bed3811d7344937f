"""`harness lab up|down|status`: start, stop and inspect the lab's background process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from harness.lab import SERVICES, UDP_SERVICES
from harness.lab.net_services import port_open, udp_bound

DEFAULT_DIR = Path("reports/lab")


def _pid(lab_dir: Path) -> int | None:
    try:
        pid = int((lab_dir / "lab.pid").read_text())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def status(lab_dir: Path = DEFAULT_DIR) -> int:
    pid = _pid(lab_dir)
    print(f"lab process: {'running, pid ' + str(pid) if pid else 'not running'}")
    up = 0
    for s in SERVICES:
        ok = port_open(s.host, s.port)
        up += ok
        print(f"  {'up  ' if ok else 'DOWN'} {s.name:<14} {s.host}:{s.port:<6} {s.weakness}")
    for s in UDP_SERVICES:  # optional: they need root
        state = "up  " if udp_bound(s.host, s.port) else "off "
        print(f"  {state} {s.name:<14} {s.host}:{s.port}/udp {s.weakness}")
    return 0 if pid and up == len(SERVICES) else 1


def up(lab_dir: Path = DEFAULT_DIR, wait: float = 20.0) -> int:
    lab_dir.mkdir(parents=True, exist_ok=True)
    if _pid(lab_dir) and all(port_open(s.host, s.port) for s in SERVICES):
        print(f"lab already running (pid {_pid(lab_dir)}); CA bundle: {lab_dir / 'ca.pem'}")
        return 0
    busy = [s for s in SERVICES if port_open(s.host, s.port)]
    if busy:
        names = ", ".join(f"{s.host}:{s.port}" for s in busy)
        print(f"cannot start the lab: {names} already in use by another process", file=sys.stderr)
        return 1
    log = (lab_dir / "lab.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.lab.server", str(lab_dir.resolve())],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # outlives the shell that started it, like a daemon
    )
    (lab_dir / "lab.pid").write_text(str(proc.pid))
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        if all(port_open(s.host, s.port) for s in SERVICES):
            print(f"lab up (pid {proc.pid}): {len(SERVICES)} services on 127.0.0.11-12")
            return 0
        time.sleep(0.2)
    print("lab failed to start; its log says:", file=sys.stderr)
    print((lab_dir / "lab.log").read_text()[-3000:], file=sys.stderr)
    down(lab_dir)
    return 1


def down(lab_dir: Path = DEFAULT_DIR) -> int:
    pid = _pid(lab_dir)
    if pid is None:
        print("lab not running")
        return 0
    os.kill(pid, signal.SIGTERM)
    for _ in range(50):
        if _pid(lab_dir) is None:
            break
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
    (lab_dir / "lab.pid").unlink(missing_ok=True)
    print(f"lab stopped (pid {pid})")
    return 0
