"""The report's first page states the run's coverage: per discovered target, each port the scan
found and the areas that examined it, or why none did (from the run manifests, one per shard).

A single Allure report shows it in its Environment widget on the overview page (one entry per
target); a split report's own overview page gets a table.
"""

from __future__ import annotations

import html
import sys
from pathlib import Path

from harness import coverage
from harness.coverage import Examined, PortRow
from harness.manifest import Manifest
from harness.output import allure_files

ENV_PREFIX = "ports.found."  # a properties key ends at its first space


def of(manifests: list[Manifest]) -> dict[str, list[PortRow]]:
    parts = [
        {t: [PortRow.from_dict(r) for r in rows] for t, rows in m.coverage.items()}
        for m in manifests
    ]
    return coverage.merged(parts)


def _examined(manifests: list[Manifest]) -> set[str]:
    """Subject keys with a result (measured or not): a deselected subject examined nothing."""
    return {k for m in manifests for k in [*m.measured, *m.unmeasured]}


def mark(results: Path, manifests: list[Manifest]) -> str:
    """Write each discovered target's ports into environment.properties; return the overview
    page's section (empty when nothing was discovered)."""
    found = of(manifests)
    if not found:
        return ""
    seen = _examined(manifests)
    examined: Examined | None = (lambda area, key: key in seen) if seen else None
    props = allure_files.read_environment(results)
    for target, rows in sorted(found.items()):
        props[ENV_PREFIX + target] = (
            " | ".join(coverage.describe(r, examined) for r in rows) or "no open port found"
        )
    try:
        allure_files.write_environment(results, props)
    except OSError as exc:
        print(f"could not write the ports found into {results} ({exc})", file=sys.stderr)
    return section(found, examined)


def section(found: dict[str, list[PortRow]], examined: Examined | None = None) -> str:
    esc = html.escape
    rows = "".join(
        f"<tr><td>{esc(target)}</td><td>{esc(r.port)}</td><td>{esc(r.service)}</td>"
        f"<td>{esc(coverage.examined_by(r, examined))}</td></tr>"
        for target, port_rows in sorted(found.items())
        for r in port_rows
    )
    return (
        "<h2>Ports found and the areas that examined each (discovery)</h2>"
        "<table><thead><tr><th>Target</th><th>Port</th><th>Service (nmap)</th>"
        f"<th>Examined by</th></tr></thead><tbody>{rows}</tbody></table>"
    )
