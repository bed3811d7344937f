"""`harness catalogue refresh`: rewrite the software catalogue from endoflife.date-style data.

Each product and distro with an `endoflife` id is fetched from `{base}/{id}` (the v1 API shape:
{"result": {"releases": [{"name", "codename", "eolFrom", "isEol", "eoesFrom", "latest":
{"name"}}]}}). Everything else in the catalogue (patterns, known-bad versions, package tables)
is kept. Nothing is written unless every fetch succeeded and the result loads cleanly.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from harness.policy.catalogue import parse
from harness.policy.versions import parse_version

DEFAULT_SOURCE = "https://endoflife.date/api/v1/products"
HEADER = """\
# Software catalogue for banner.outdated, refreshed by `harness catalogue refresh` on {today}
# from {source}. See the shipped file in harness/data/ for a description of every field.
"""


class RefreshError(Exception):
    """The refresh could not complete; the catalogue on disk is unchanged."""


def fetch_json(url: str, timeout: float) -> Any:
    if not url.startswith(("https://", "http://")):
        raise RefreshError(f"refusing to fetch {url}: only http(s) URLs are allowed")
    # only http(s), checked above: S310 warns about file: and custom schemes
    request = urllib.request.Request(url, headers={"User-Agent": "harness-catalogue-refresh"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return json.loads(response.read(5_000_000))


def _releases(data: Any, url: str) -> list[dict[str, Any]]:
    try:
        releases = data["result"]["releases"]
    except (KeyError, TypeError):
        raise RefreshError(f"unexpected answer from {url}: no result.releases") from None
    if not isinstance(releases, list) or not all(isinstance(r, dict) for r in releases):
        raise RefreshError(f"unexpected answer from {url}: releases is not a list of objects")
    return releases


def _eol(release: dict[str, Any]) -> dt.date | bool:
    if release.get("eolFrom"):
        return dt.date.fromisoformat(str(release["eolFrom"])[:10])
    return bool(release.get("isEol", False))


def _latest(release: dict[str, Any]) -> str | None:
    latest = release.get("latest")
    if isinstance(latest, dict) and latest.get("name"):
        return str(latest["name"])
    return None


def product_lines(releases: list[dict[str, Any]], depth: int | None) -> list[dict[str, Any]]:
    """Release cycles as catalogue lines; with `depth`, cycles fold into coarser lines."""
    lines: dict[str, dict[str, Any]] = {}
    for release in releases:
        name = str(release["name"])
        cycle = ".".join(name.split(".")[:depth]) if depth else name
        eol, latest = _eol(release), _latest(release)
        line = lines.setdefault(cycle, {"cycle": cycle, "eol": eol, "latest": latest})
        if line is not None and (line["eol"], line["latest"]) != (eol, latest):
            line["eol"] = _later_eol(line["eol"], eol)
            line["latest"] = _newer(line["latest"], latest)
    return list(lines.values())


def keep_missing(fresh: list[dict[str, Any]], old: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fresh lines, plus snapshot lines the source does not list (development lines such as
    Apache 2.3, IIS 5.1), so a refresh never opens a gap in a product's lines."""
    cycles = {str(ln["cycle"]) for ln in fresh}
    merged = fresh + [ln for ln in old if str(ln["cycle"]) not in cycles]
    return sorted(
        merged,
        key=lambda ln: v.key() if (v := parse_version(str(ln["cycle"]))) else ((), ()),
        reverse=True,
    )


def _later_eol(a: dt.date | bool, b: dt.date | bool) -> dt.date | bool:
    if a is False or b is False:
        return False  # a line lives while any of its cycles is supported
    if isinstance(a, dt.date) and isinstance(b, dt.date):
        return max(a, b)
    return a if isinstance(a, dt.date) else b


def _newer(a: str | None, b: str | None) -> str | None:
    va, vb = parse_version(a or ""), parse_version(b or "")
    if va is None:
        return b
    if vb is None:
        return a
    return b if va < vb else a


def distro_releases(releases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def day(value: Any) -> dt.date | None:
        return dt.date.fromisoformat(str(value)[:10]) if value else None

    return [
        {
            "release": str(r["name"]),
            "codename": r.get("codename"),
            "support": day(r.get("eolFrom")),
            "extended": day(r.get("eoesFrom")),
        }
        for r in releases
    ]


def refresh(
    raw: dict[str, Any], base: str, timeout: float, today: dt.date
) -> tuple[dict[str, Any], list[str]]:
    """The refreshed catalogue and one line per entry saying what happened to it."""
    report: list[str] = []
    for section, convert in (("products", "lines"), ("distros", "releases")):
        for entry_id, entry in (raw.get(section) or {}).items():
            eid = entry.get("endoflife")
            if not eid:
                report.append(f"{entry_id}: not tracked by endoflife.date; snapshot entry kept")
                continue
            url = f"{base.rstrip('/')}/{eid}"
            try:
                releases = _releases(fetch_json(url, timeout), url)
            except urllib.error.HTTPError as exc:
                if exc.code == 404:
                    report.append(f"{entry_id}: {url} not found; snapshot entry kept")
                    continue
                raise RefreshError(f"{url} answered HTTP {exc.code}") from None
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                raise RefreshError(f"cannot reach {url} ({reason})") from None
            except (ValueError, KeyError) as exc:
                raise RefreshError(f"unexpected answer from {url}: {exc}") from None
            if not releases:
                report.append(f"{entry_id}: {url} lists no releases; snapshot entry kept")
                continue
            entry[convert] = (
                keep_missing(
                    product_lines(releases, entry.get("line_depth")), entry.get("lines") or []
                )
                if convert == "lines"
                else distro_releases(releases)
            )
            entry["as_of"] = today
            entry["source"] = url.replace("/api/v1/products/", "/")
            report.append(f"{entry_id}: {len(releases)} release(s) from {url}")
    raw["snapshot"] = today
    raw["sources"] = [f"endoflife.date (data of {today})", *raw.get("sources", [])[1:]]
    return raw, report


def write(raw: dict[str, Any], path: Path, source: str, today: dt.date) -> None:
    parse(raw, str(path))  # never write a catalogue the harness cannot load
    text = HEADER.format(today=today, source=source) + yaml.safe_dump(
        raw, sort_keys=False, width=100, allow_unicode=True
    )
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".catalogue-", suffix=".yaml")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
