"""New versus known findings, against the findings file the previous run left behind."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path


def finding_id(check: str, key: str, text: str | None = None) -> str:
    """One finding: the check on the subject, plus the finding's own words when given."""
    base = f"{check}@{key}"
    return f"{base}: {text}" if text else base


def load(path: Path | None) -> set[str] | None:
    """The previous run's finding ids, or None when there is no previous run to compare with."""
    if path is None or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        return {str(x) for x in data.get("findings", [])}
    except (OSError, ValueError, AttributeError):
        return None  # a damaged file only loses the comparison, never a finding


def update(previous: set[str] | None, examined: Iterable[str], failing: Iterable[str]) -> set[str]:
    """Findings of subjects this run examined replace theirs; others (not selected) are kept."""
    examined_set = set(examined)
    kept = {f for f in (previous or set()) if f.split(": ", 1)[0] not in examined_set}
    return kept | set(failing)


def save(path: Path, findings: set[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"findings": sorted(findings)}, indent=2))
    tmp.replace(path)
