"""When the suites last ran and where they wrote Allure results, so `harness report` never
rebuilds an older run's results in silence (plain `pytest suites/` writes none).

The run records itself in reports/.last-run.json under the folder it ran in, when that folder
has a reports/ folder (the project's, which `make demo` and `harness report` use); elsewhere it
leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

MARKER = Path("reports") / ".last-run.json"


def record(cwd: Path, alluredir: str | None, finished: dt.datetime) -> None:
    """Note that the suites ran, when they finished, and where (if anywhere) results went."""
    if not (cwd / MARKER.parent).is_dir():
        return
    where = str((cwd / alluredir).resolve()) if alluredir else ""
    data = {"finished": finished.isoformat(timespec="seconds"), "alluredir": where}
    try:
        (cwd / MARKER).write_text(json.dumps(data) + "\n", encoding="utf-8")
    except OSError:
        return  # a read-only checkout: the report then cannot warn, and the run still counts


def stale(results: Path, cwd: Path) -> str | None:
    """Why the results in `results` are older than the last run, or None when they are not
    (or when no run was recorded)."""
    try:
        data = json.loads((cwd / MARKER).read_text(encoding="utf-8"))
        finished = dt.datetime.fromisoformat(str(data["finished"]))
        wrote = str(data.get("alluredir") or "")
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if wrote and Path(wrote) == results.resolve():
        return None
    # the change time, not the modification time: results copied together from shards keep
    # their old mtimes, but are new files here
    newest = max(
        (max(p.stat().st_mtime, p.stat().st_ctime) for p in results.glob("*-result.json")),
        default=0.0,
    )
    written = dt.datetime.fromtimestamp(newest, dt.UTC)
    if written >= finished - dt.timedelta(seconds=5):
        return None
    said = f"wrote its results to {wrote}" if wrote else "wrote no Allure results"
    return (
        f"the results in {results} are from {written:%Y-%m-%d %H:%M} UTC, older than the last "
        f"run of the suites ({finished:%Y-%m-%d %H:%M} UTC), which {said}. Fix: rerun with "
        f"`pytest suites/ --alluredir {results}`, pass --results with the folder the run wrote, "
        "or add --allow-older to build a report of the older results anyway."
    )
