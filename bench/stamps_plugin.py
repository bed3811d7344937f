"""pytest plugin for bench/run.py: when each probe result was published, and how often.

Loaded with `-p stamps_plugin` (bench/ on PYTHONPATH); writes JSON to $BENCH_STAMPS at the end:
{"runner_started": t, "published": [[probe, key, t], ...], "scans": [[probe, key, n], ...]}.
Times are time.monotonic(), which is one clock for every process on Linux, so bench/run.py can
relate them to the moment it started pytest. Only observes: wraps ProbeRunner methods, changes
nothing they do.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from harness import runner as _runner

_runners: list[_runner.ProbeRunner] = []
_published: list[tuple[str, str, float]] = []
_orig_init = _runner.ProbeRunner.__init__
_orig_set = _runner.ProbeRunner._set


def _init(self: _runner.ProbeRunner, *args: Any, **kwargs: Any) -> None:
    _orig_init(self, *args, **kwargs)
    _runners.append(self)


def _set(self: _runner.ProbeRunner, probe: str, key: str, result: Any) -> None:
    first = not self._future(probe, key).done()
    _orig_set(self, probe, key, result)
    if first:
        _published.append((probe, key, time.monotonic()))


_runner.ProbeRunner.__init__ = _init  # type: ignore[method-assign]
_runner.ProbeRunner._set = _set  # type: ignore[method-assign]


def pytest_sessionfinish() -> None:
    path = os.environ.get("BENCH_STAMPS")
    if not path:
        return
    scans = [[p, k, n] for r in _runners for (p, k), n in r.scans.items()]
    started = min((r._started_at for r in _runners if r._started_at), default=None)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump({"runner_started": started, "published": _published, "scans": scans}, fh)
