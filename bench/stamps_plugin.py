"""pytest plugin for bench/: when each probe result was published, how often, and where the
seconds of a run went.

Loaded with `-p stamps_plugin` (bench/ on PYTHONPATH); writes JSON to $BENCH_STAMPS at the end:
  {"runner_started": t, "published": [[probe, key, t], ...], "scans": [[probe, key, n], ...],
   "phases": {"plugin_loaded": t, "configured": t, "collected": t, "first_test": t,
              "last_test": t, "session_finish": t, "files_written": t},
   "spent": {"probe_import": s, "tests": s, "allure_results": s, "allure_attachments": s,
             "allure_writer_thread": s},
   "allure_files": n, "allure_bytes": n}
Times are time.monotonic(), which is one clock for every process on Linux, so the launcher can
relate them to the moment it started pytest. Only observes: the probe runner's events come
through its public observers (the harness's pytest_harness_runner hook), the Allure writes and
socket counts through wrapped methods that change nothing they do.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

_loaded = time.monotonic()

from harness.session.runner import (  # noqa: E402
    JobFinished,
    ProbeEvent,
    ProbeLoaded,
    ProbeRunner,
    RunStarted,
)

_runners: list[ProbeRunner] = []
_runner_started: list[float] = []
_published: list[tuple[str, str, float]] = []
_phases: dict[str, float] = {"plugin_loaded": _loaded}
_spent: dict[str, float] = {}


def _add(what: str, seconds: float) -> None:
    _spent[what] = _spent.get(what, 0.0) + seconds


def _observe(event: ProbeEvent) -> None:
    if isinstance(event, JobFinished):
        _published.append((event.probe, event.key, event.at))
    elif isinstance(event, ProbeLoaded):
        _add(f"import_{event.probe}_probe", event.seconds)
    elif isinstance(event, RunStarted):
        _runner_started.append(event.at)


@pytest.hookimpl(optionalhook=True)
def pytest_harness_runner(runner: ProbeRunner) -> None:
    _runners.append(runner)
    runner.add_observer(_observe)


def _time_allure_writes() -> None:
    try:
        from allure_commons.logger import AllureFileLogger

        from harness.output.allure_writer import BackgroundFileLogger
    except ImportError:
        return
    # the hook methods carry pluggy markers and are called by argument name: functools.wraps
    # keeps both (the signature through __wrapped__, the marker through __dict__)
    for cls, method, what in (
        # on the tests' thread: turning a result into data and queueing it
        (BackgroundFileLogger, "_report_item", "allure_results"),
        (BackgroundFileLogger, "report_attached_data", "allure_attachments"),
        (AllureFileLogger, "report_attached_file", "allure_attachments"),
        # on the writer thread: serialising and writing each file
        (BackgroundFileLogger, "_write", "allure_writer_thread"),
    ):
        original = getattr(cls, method)

        @functools.wraps(original)
        def timed(*args: Any, _o: Any = original, _w: str = what, **kw: Any) -> Any:
            started = time.monotonic()
            try:
                return _o(*args, **kw)
            finally:
                _add(_w, time.monotonic() - started)

        setattr(cls, method, timed)


_time_allure_writes()

_sockets: dict[str, Any] = {"peak_per_host": {}, "hosts_peak": 0}


def _count_sockets() -> None:
    """With $BENCH_SOCKETS set: TCP connections of this process per remote address, from
    connect() to the real close of the file descriptor (the limits seen from inside)."""
    import socket
    import threading
    from collections import Counter

    lock = threading.Lock()
    live: dict[int, str] = {}
    now: Counter[str] = Counter()
    peak: dict[str, int] = _sockets["peak_per_host"]
    connect, real_close = socket.socket.connect, socket.socket._real_close  # type: ignore[attr-defined]

    def counted_connect(self: socket.socket, address: Any) -> None:
        connect(self, address)
        if isinstance(address, tuple) and self.type == socket.SOCK_STREAM:
            with lock:
                live[id(self)] = address[0]
                now[address[0]] += 1
                peak[address[0]] = max(peak.get(address[0], 0), now[address[0]])
                _sockets["hosts_peak"] = max(
                    _sockets["hosts_peak"], sum(1 for n in now.values() if n)
                )

    def counted_close(self: socket.socket, *args: Any) -> None:
        with lock:
            host = live.pop(id(self), None)
            if host is not None:
                now[host] -= 1
        real_close(self, *args)

    socket.socket.connect = counted_connect  # type: ignore[method-assign]
    socket.socket._real_close = counted_close  # type: ignore[attr-defined]


if os.environ.get("BENCH_SOCKETS"):
    _count_sockets()


def pytest_configure() -> None:
    _phases["configured"] = time.monotonic()


def pytest_collection_finish() -> None:
    _phases["collected"] = time.monotonic()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    started = time.monotonic()
    _phases.setdefault("first_test", started)
    try:
        return (yield)
    finally:
        _phases["last_test"] = time.monotonic()
        _add("tests", _phases["last_test"] - started)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish() -> None:
    _phases["session_finish"] = time.monotonic()


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    # the harness writes its run-level Allure files in its own (trylast) sessionfinish
    _phases["files_written"] = time.monotonic()
    path = os.environ.get("BENCH_STAMPS")
    if not path:
        return
    alluredir = getattr(config.option, "allure_report_dir", None)
    files = [p for p in Path(alluredir).iterdir() if p.is_file()] if alluredir else []
    scans = [[p, k, n] for r in _runners for (p, k), n in r.scans.items()]
    started = min(_runner_started, default=None)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(
            {
                "runner_started": started,
                "published": _published,
                "scans": scans,
                "phases": _phases,
                "spent": _spent,
                "sockets": _sockets if os.environ.get("BENCH_SOCKETS") else None,
                "allure_files": len(files),
                "allure_bytes": sum(p.stat().st_size for p in files),
            },
            fh,
        )
