"""Report history: one compact line per run, at most `limit` runs, owned by the harness.

Allure's own history line repeats every result's name, labels, message and trace; at 40,000
results that is about 59 MB a night. Trends and transitions (new, fixed, regressed) need only the
status of each history id, so a run here is {uuid, name, timestamp, summary, statuses} with a
one-letter status per id, the id shortened to 16 hex digits of its md5 (Allure's own ids are 65
characters): about 0.9 MB a night at 40,000 results. Allure is handed, per report it builds,
a temporary history file in its own format made from these lines and restricted to the report's
ids; Allure never writes the file itself, so one file serves one report or many.

Older files written by Allure itself are read too: each of their results gives its status.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid as uuid_mod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_LIMIT = 30
KEY_CHARS = 16  # 64 bits: no collision to expect among a fleet's few hundred thousand ids


def key(history_id: str) -> str:
    """The short form an id is stored under."""
    return hashlib.md5(history_id.encode(), usedforsecurity=False).hexdigest()[:KEY_CHARS]


CODE = {"passed": "p", "failed": "f", "broken": "b", "skipped": "s", "unknown": "u"}
STATUS = {v: k for k, v in CODE.items()}


@dataclass
class Run:
    """One past run: when, a summary for the overview's trend, and the status of each id."""

    uuid: str
    name: str
    timestamp: int  # ms since the epoch, as Allure stores it
    statuses: dict[str, str]  # key(history id) -> passed|failed|broken|skipped|unknown
    summary: dict[str, int] = field(default_factory=dict)

    def to_line(self) -> str:
        return json.dumps(
            {
                "uuid": self.uuid,
                "name": self.name,
                "timestamp": self.timestamp,
                "summary": self.summary,
                "statuses": {k: CODE.get(v, "u") for k, v in self.statuses.items()},
            },
            separators=(",", ":"),
        )

    def to_allure(self, ids: Iterable[tuple[str, str]]) -> dict[str, Any]:
        """The run as an Allure 3 history data point for these (history id, key) pairs."""
        found = ((i, self.statuses.get(k)) for i, k in ids)
        return {
            "uuid": self.uuid,
            "name": self.name,
            "timestamp": self.timestamp,
            "knownTestCaseIds": [],
            "testResults": {i: {"historyId": i, "status": s} for i, s in found if s},
            "metrics": {},
            "url": "",
        }


def _parse(line: str) -> Run | None:
    try:
        data = json.loads(line)
    except ValueError:
        return None  # a damaged line loses that run's trend point, never the report
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("statuses"), dict):
        statuses = {str(k): STATUS.get(str(v), "unknown") for k, v in data["statuses"].items()}
    elif isinstance(data.get("testResults"), dict):  # a line Allure wrote itself
        statuses = {
            key(str(k)): str(v.get("status", "unknown"))
            for k, v in data["testResults"].items()
            if isinstance(v, dict)
        }
    else:
        return None
    summary = data.get("summary") if isinstance(data.get("summary"), dict) else None
    return Run(
        uuid=str(data.get("uuid") or uuid_mod.uuid4()),
        name=str(data.get("name") or ""),
        timestamp=int(data.get("timestamp") or 0),
        statuses=statuses,
        summary=summary or count(statuses.values()),
    )


def load(path: Path | None, limit: int = DEFAULT_LIMIT) -> list[Run]:
    """The last `limit` runs, oldest first (in the order they were written: clocks may differ)."""
    if path is None or limit <= 0 or not path.is_file():
        return []
    runs = [r for r in map(_parse, path.read_text(encoding="utf-8").splitlines()) if r]
    return runs[-limit:]


def count(statuses: Iterable[str]) -> dict[str, int]:
    out = dict.fromkeys(("passed", "failed", "broken", "skipped", "unknown"), 0)
    for s in statuses:
        out[s if s in out else "unknown"] += 1
    return out


def new_run(name: str, statuses: Mapping[str, str], summary: dict[str, int]) -> Run:
    """This run, from the status of each (full) history id."""
    short = {key(i): s for i, s in statuses.items()}
    return Run(str(uuid_mod.uuid4()), name, int(time.time() * 1000), short, summary)


def save(path: Path, runs: list[Run], limit: int = DEFAULT_LIMIT) -> None:
    """Keep the newest `limit` runs; written whole and renamed, so a crash leaves the old file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    kept = runs[-limit:] if limit > 0 else []
    tmp.write_text("".join(r.to_line() + "\n" for r in kept), encoding="utf-8")
    tmp.replace(path)


def write_allure(path: Path, runs: list[Run], ids: Iterable[str]) -> None:
    """An Allure 3 history file of `runs` for one report, whose results have these ids."""
    wanted = [(i, key(i)) for i in sorted(set(ids))]
    with path.open("w", encoding="utf-8") as out:
        for run in runs:
            out.write(json.dumps(run.to_allure(wanted), separators=(",", ":")) + "\n")


def transitions(previous: Run | None, statuses: Mapping[str, str]) -> dict[str, int]:
    """Allure's transitions of this run against the last one: new, fixed, regressed, broken."""
    out = {"new": 0, "fixed": 0, "regressed": 0, "malfunctioned": 0}
    if previous is None:
        return out
    for hid, status in statuses.items():
        before = previous.statuses.get(key(hid))
        if before is None:
            out["new"] += 1
        elif before != status and before not in ("skipped", "unknown"):
            change = {"passed": "fixed", "failed": "regressed", "broken": "malfunctioned"}
            if status in change:
                out[change[status]] += 1
    return out
