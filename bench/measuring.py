"""Measuring one command of the bench: wall time, exit code, CPU seconds and peak RSS of its
process tree (sampled from /proc), our connections per remote address (from `ss`), and what the
harness's own stamps (bench/stamps_plugin.py) say about when each probe result came in.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
MIB = 1024 * 1024


@dataclass
class Run:
    name: str
    wall: float
    rc: int | None
    # getrusage()'s ru_maxrss is no use here: after fork/vfork + exec it keeps the parent's RSS
    rss_process: float  # MiB, the largest VmHWM (peak RSS) of any process in the tree
    rss_tree: float  # MiB, the tree's summed RSS at its largest, sampled every 0.1 s
    started: float  # time.monotonic() at launch
    outcome: str = ""
    stamps: dict[str, Any] = field(default_factory=dict)
    cpu: float = 0.0  # user + system seconds of the process and the children it waited for


def _tree(root: int) -> list[int]:
    """`root` and its descendants, from the parent ids in /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(b")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def _memory(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in bytes; VmHWM is its own peak, exact, kept by the kernel."""
    rss = hwm = 0
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmRSS:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith(b"VmHWM:"):
                    hwm = int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss, hwm


def measure(
    name: str,
    cmd: list[str],
    cwd: Path,
    log: Path,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
) -> Run:
    """Run `cmd` to completion; wall time, exit code, and peak RSS of the process and its tree."""
    peak_tree, peak_one = [0], [0]
    done = threading.Event()
    with log.open("wb") as out:
        started = time.monotonic()
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )

        def sample() -> None:
            while not done.wait(0.1):
                mem = [_memory(pid) for pid in _tree(proc.pid)]
                peak_tree[0] = max(peak_tree[0], sum(rss for rss, _ in mem))
                peak_one[0] = max([peak_one[0], *(hwm for _, hwm in mem)])

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        timer = threading.Timer(timeout, os.killpg, (proc.pid, signal.SIGKILL)) if timeout else None
        if timer:
            timer.daemon = True  # an interrupted bench must not wait out the limit at exit
            timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
        done.set()
        if timer:
            timer.cancel()
    sampler.join()
    proc.returncode = rc = os.waitstatus_to_exitcode(status)
    timed_out = rc == -signal.SIGKILL and timeout is not None
    rc_or_none = None if timed_out else rc
    cpu = usage.ru_utime + usage.ru_stime
    return Run(name, wall, rc_or_none, peak_one[0] / MIB, peak_tree[0] / MIB, started, cpu=cpu)


class ConnectionSampler:
    """Client connections per remote address, from `ss` every 20 ms while a run goes on.

    Counts sockets in SYN-SENT or ESTABLISHED towards the given addresses (a lower bound: a
    connection shorter than the interval can be missed), so the concurrency limits can be
    checked from the outside."""

    def __init__(self, groups: dict[str, set[str]]) -> None:
        self.groups = groups
        self.addresses = set().union(*groups.values())
        self.per_host: dict[str, int] = {}
        self.hosts_at_once = 0
        self.group_hosts_at_once = dict.fromkeys(groups, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> ConnectionSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        cmd = ["ss", "-Htn", "state", "syn-sent", "state", "established"]
        while not self._stop.wait(0.02):
            out = subprocess.run(cmd, capture_output=True, text=True).stdout
            now: dict[str, int] = {}
            for line in out.splitlines():
                fields = line.split()  # [State] Recv-Q Send-Q Local:Port Peer:Port
                if len(fields) < 4:
                    continue
                local_port = int(fields[-2].rpartition(":")[2])
                peer = fields[-1].rpartition(":")[0]
                if peer in self.addresses and local_port >= 32768:  # our side, not the server's
                    now[peer] = now.get(peer, 0) + 1
            for host, count in now.items():
                self.per_host[host] = max(self.per_host.get(host, 0), count)
            self.hosts_at_once = max(self.hosts_at_once, len(now))
            for group, members in self.groups.items():
                at_once = sum(1 for h in now if h in members)
                self.group_hosts_at_once[group] = max(self.group_hosts_at_once[group], at_once)


def pytest_outcome(log: Path) -> str:
    text = log.read_text(errors="replace")
    counts = re.findall(r"(\d+) (passed|failed|errors?|skipped|deselected)", text[-3000:])
    return ", ".join(f"{n} {what}" for n, what in counts) or "no summary line (see the log)"


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.runs: list[Run] = []
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(BENCH), str(ROOT)])}
        # Python writes bytecode caches by default, as on a user's machine; this sandbox turns
        # that off, which would make every run of the (editable) harness recompile it
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)

    def run(
        self,
        name: str,
        cmd: list[str],
        *,
        cwd: Path | None = None,
        timeout: float = 900,
        stamps: bool = False,
    ) -> Run:
        log = self.work / f"{name}.log"
        env = dict(self.env)
        stamp_file = self.work / f"{name}.stamps.json"
        if stamps:
            env["BENCH_STAMPS"] = str(stamp_file)
        print(f"  running {name} ...", end="", flush=True)
        result = measure(name, cmd, cwd or ROOT, log, env, timeout)
        if stamps:
            result.outcome = pytest_outcome(log)
            if stamp_file.exists():
                result.stamps = json.loads(stamp_file.read_text())
        elif result.rc is None:
            result.outcome = f"killed at the {timeout:.0f} s limit"
        print(f" {result.wall:7.2f} s  {result.outcome}")
        self.runs.append(result)
        return result

    def repeated(self, runs: dict[str, tuple[list[str], dict[str, Any]]]) -> None:
        """Run each command --repeat times, alternating between them so that drifting load hits
        all alike; with repeats, add a run named without '#i' holding the median wall time."""
        repeat = self.args.repeat
        for i in range(repeat):
            for name, (cmd, kw) in runs.items():
                self.run(f"{name}#{i + 1}" if repeat > 1 else name, cmd, **kw)
        if repeat == 1:
            return
        for name in runs:
            mine = sorted(
                (r for r in self.runs if r.name.startswith(name + "#")), key=lambda r: r.wall
            )
            mid = mine[len(mine) // 2]
            self.runs.append(
                Run(
                    name,
                    statistics.median(r.wall for r in mine),
                    mid.rc,
                    max(r.rss_process for r in mine),
                    max(r.rss_tree for r in mine),
                    mid.started,
                    mid.outcome,
                    mid.stamps,
                )
            )


def publish_times(run: Run) -> dict[tuple[str, str], float]:
    started = run.stamps.get("runner_started")
    if started is None:
        return {}
    return {(p, k): t - started for p, k, t in run.stamps.get("published", [])}


def probe_finish(run: Run) -> dict[str, float]:
    out: dict[str, float] = {}
    for (probe, _), t in publish_times(run).items():
        out[probe] = max(out.get(probe, 0.0), t)
    return out


def scanned_once(run: Run) -> bool | None:
    scans = run.stamps.get("scans")
    return None if not scans else all(n == 1 for _, _, n in scans)
