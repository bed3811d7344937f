"""What a run says about its coverage: per target, each port the port scan found and the areas
that examined it (or why none did). Plain data, so the run manifest carries it to the report."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PortRow:
    """One found port: '9443/tcp', nmap's words, the (area, subject key, how) pairs meant to
    examine it ('declared' or 'discovered'), and why nothing more examines it."""

    port: str
    service: str
    subjects: tuple[tuple[str, str, str], ...]
    classified: bool
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "port": self.port,
            "service": self.service,
            "subjects": [list(s) for s in self.subjects],
            "classified": self.classified,
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PortRow:
        return cls(
            port=str(data["port"]),
            service=str(data["service"]),
            subjects=tuple((str(a), str(k), str(h)) for a, k, h in data.get("subjects", [])),
            classified=bool(data.get("classified")),
            note=str(data.get("note", "")),
        )


Examined = Callable[[str, str], bool]


def examined_by(row: PortRow, examined: Examined | None = None) -> str:
    """'tls (discovered), ports' or 'ports; found, not classified: no area examines redis'.
    `examined(area, key)` leaves out areas that produced no result (deselected with -k, say);
    None keeps every planned one."""
    if not row.subjects:  # the port scan itself could not measure: the row says why
        return row.note
    areas = [
        f"{area} ({how})" if how else area
        for area, key, how in row.subjects
        if examined is None or examined(area, key)
    ]
    said = ", ".join(dict.fromkeys(areas)) or "no area in this run"
    if not row.classified:
        return f"{said}; found, not classified: {row.note}"
    return said + (f"; not examined further: {row.note}" if row.note else "")


def describe(row: PortRow, examined: Examined | None = None) -> str:
    """'9443/tcp ssl/http: tls (discovered), ports'."""
    if not row.subjects:
        return row.note
    return f"{row.port} {row.service}: {examined_by(row, examined)}"


def lines(coverage: dict[str, list[PortRow]], examined: Examined | None = None) -> list[str]:
    """The summary's coverage section, one line per found port."""
    if not coverage:
        return []
    out = ["ports found and the areas that examined each (discovery):"]
    for target, rows in sorted(coverage.items()):
        if not rows:
            out.append(f"  {target}: no open port found")
        out.extend(f"  {target} {describe(row, examined)}" for row in rows)
    return out


def merged(parts: Iterable[dict[str, list[PortRow]]]) -> dict[str, list[PortRow]]:
    """Shards' coverage in one (each target is in one shard)."""
    out: dict[str, list[PortRow]] = {}
    for part in parts:
        for target, rows in part.items():
            out.setdefault(target, []).extend(rows)
    return out
