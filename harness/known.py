"""Findings with an identity and an age, kept from run to run in the known-findings file.

A finding's identity is the check, the subject (and, for a name, the address it was seen on)
and the stable facts the policy gave it (`Finding.key`: a port, suite names, a product and
version, a certificate fingerprint), never its prose: a certificate message holds a day count that changes
every night. The file keeps the day each finding was first seen, so a result can say how long
it has been open.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from harness import atomic

FORMAT = 2


@dataclass(frozen=True)
class Known:
    check: str
    subject: str
    first_seen: dt.date
    last_seen: dt.date | None = None  # None: from a file written before it was kept


def finding_id(check: str, subject: str, key: str = "", address: str | None = None) -> str:
    base = f"{check}@{subject}" + (f"@{address}" if address else "")
    return f"{base}#{key}" if key else base


def load(path: Path | None) -> dict[str, Known] | None:
    """The previous run's findings by id, or None when there is no previous run to compare with.

    A file of the first format (ids made from prose, no dates) cannot be matched; it reads as
    no previous run, once."""
    if path is None or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        if data.get("format") != FORMAT:
            return None
        return {
            str(f["id"]): Known(
                str(f["check"]),
                str(f["subject"]),
                dt.date.fromisoformat(f["first_seen"]),
                dt.date.fromisoformat(f["last_seen"]) if f.get("last_seen") else None,
            )
            for f in data["findings"]
        }
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return None  # a damaged file only loses the comparison, never a finding


def update(
    previous: dict[str, Known] | None,
    examined: Iterable[tuple[str, str]],
    failing: dict[str, tuple[str, str]],
    today: dt.date,
) -> dict[str, Known]:
    """Findings of (check, subject) pairs this run judged are replaced by this run's; others
    (not selected, waived, could not measure) are kept. Each keeps its first-seen day."""
    judged = set(examined)
    old = previous or {}
    kept = {fid: k for fid, k in old.items() if (k.check, k.subject) not in judged}
    for fid, (check, subject) in failing.items():
        first = old[fid].first_seen if fid in old else today
        kept[fid] = Known(check, subject, first, today)
    return kept


def fixed(
    previous: dict[str, Known] | None,
    examined: Iterable[tuple[str, str]],
    failing: Iterable[str],
) -> list[tuple[str, Known]]:
    """Findings of the previous run that this run judged and no longer found."""
    judged, still = set(examined), set(failing)
    gone = [
        (fid, k)
        for fid, k in (previous or {}).items()
        if (k.check, k.subject) in judged and fid not in still
    ]
    return sorted(gone, key=lambda pair: pair[0])


def age(first_seen: dt.date, today: dt.date) -> str:
    days = (today - first_seen).days
    return f"first seen {first_seen.isoformat()} ({days} day{'' if days == 1 else 's'} open)"


def save(path: Path, findings: dict[str, Known]) -> None:
    """Written whole or not at all: on OSError the previous file stays as it was."""
    rows = [
        {
            "id": fid,
            "check": k.check,
            "subject": k.subject,
            "first_seen": k.first_seen.isoformat(),
            **({"last_seen": k.last_seen.isoformat()} if k.last_seen else {}),
        }
        for fid, k in sorted(findings.items())
    ]
    atomic.write_text(path, json.dumps({"format": FORMAT, "findings": rows}, indent=2))
