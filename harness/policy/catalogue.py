"""The software catalogue (harness/data/software_catalogue.yaml) as typed, frozen objects."""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from harness.checks import Severity
from harness.data import load_yaml

# an upstream version as banners print it: 2.4.57, 9.2p1, 1.0.2k, 1.3.9rc1, 10.0
VERSION_RE = r"(\d+(?:\.\d+)*(?:[a-zA-Z]+\d*)?)"
ENV_PATH = "HARNESS_SOFTWARE_CATALOGUE"  # a refreshed catalogue kept outside the package


@dataclass(frozen=True)
class Line:
    cycle: str
    eol: dt.date | bool  # a date, True (ended, date not recorded) or False (supported)
    latest: str | None
    source: str | None = None  # what an approximate figure rests on

    def ended(self, today: dt.date) -> bool:
        if isinstance(self.eol, bool):
            return self.eol
        return self.eol <= today

    def eol_text(self) -> str:
        return "on a date not recorded" if isinstance(self.eol, bool) else f"on {self.eol}"


@dataclass(frozen=True)
class KnownBad:
    versions: tuple[str, ...]
    severity: Severity
    reason: str
    source: str


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    source: str
    as_of: dt.date
    patterns: tuple[re.Pattern[str], ...]
    nmap: tuple[str, ...]
    cpe: tuple[str, ...]
    lines: tuple[Line, ...]
    known_bad: tuple[KnownBad, ...]
    endoflife: str | None = None
    line_depth: int | None = None
    never_released: tuple[str, ...] = ()  # lines upstream skipped (PHP 6)


@dataclass(frozen=True)
class DistroRelease:
    release: str
    codename: str | None
    support: dt.date | None  # end of regular security support; None: not announced
    extended: dt.date | None  # end of LTS / ESM / ELS; None: none

    def label(self, distro: Distro) -> str:
        name = f"{distro.name} {self.release}"
        return f"{name} ({self.codename})" if self.codename else name


@dataclass(frozen=True)
class Distro:
    id: str
    name: str
    source: str
    as_of: dt.date
    extended_name: str | None
    extended_severity: Severity
    releases: tuple[DistroRelease, ...]
    packages: dict[str, dict[str, tuple[str, ...]]]

    def release(self, name: str) -> DistroRelease | None:
        for r in self.releases:
            if r.release == name:
                return r
        return None


@dataclass(frozen=True)
class Catalogue:
    snapshot: dt.date
    sources: tuple[str, ...]
    eol_severity: Severity
    behind_severity: Severity
    unknown_line_severity: Severity
    products: dict[str, Product]
    distros: dict[str, Distro]
    path: str
    stale_after_days: int = 90

    def describe(self) -> str:
        """One line for reports: the snapshot date and where it came from."""
        return (
            f"software catalogue snapshot of {self.snapshot} (sources: {'; '.join(self.sources)})"
        )

    def age(self, today: dt.date) -> int:
        return (today - self.snapshot).days

    def stale_note(self, today: dt.date) -> str | None:
        """Said with every banner result, the summary and the report once the snapshot is old:
        releases and end-of-life dates after it are unknown to the verdicts."""
        days = self.age(today)
        if days <= self.stale_after_days:
            return None
        return (
            f"The software catalogue snapshot of {self.snapshot} is {days} days old (older than "
            f"{self.stale_after_days}): releases and end-of-life dates since then are not in "
            "it. Run `harness catalogue refresh` to update it"
        )


def default_path() -> Path:
    override = os.environ.get(ENV_PATH)
    if override:
        return Path(override)
    return Path(str(resources.files("harness.data").joinpath("software_catalogue.yaml")))


@cache
def load(path: str | None = None) -> Catalogue:
    chosen = Path(path) if path else default_path()
    return parse(load_yaml(chosen.read_text(encoding="utf-8")), str(chosen))


def _date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _eol(value: Any) -> dt.date | bool:
    if isinstance(value, bool):
        return value
    parsed = _date(value)
    return False if parsed is None else parsed


def parse(raw: dict[str, Any], where: str = "<catalogue>") -> Catalogue:
    """Build the catalogue from its YAML shape; a malformed entry raises ValueError naming it."""
    products: dict[str, Product] = {}
    for pid, p in (raw.get("products") or {}).items():
        try:
            products[pid] = Product(
                id=pid,
                name=p["name"],
                source=p["source"],
                as_of=_date(p.get("as_of")) or _date(raw["snapshot"]),  # type: ignore[arg-type]
                patterns=tuple(
                    re.compile(pat.replace("{v}", VERSION_RE), re.IGNORECASE)
                    for pat in p.get("patterns", ())
                ),
                nmap=tuple(n.lower() for n in p.get("nmap", ())),
                cpe=tuple(c.lower() for c in p.get("cpe", ())),
                lines=tuple(
                    Line(
                        str(ln["cycle"]),
                        _eol(ln.get("eol")),
                        None if ln.get("latest") is None else str(ln["latest"]),
                        ln.get("source"),
                    )
                    for ln in p.get("lines", ())
                ),
                known_bad=tuple(
                    KnownBad(
                        tuple(str(v) for v in kb["versions"]),
                        Severity(kb["severity"]),
                        " ".join(str(kb["reason"]).split()),
                        kb["source"],
                    )
                    for kb in p.get("known_bad") or ()
                ),
                endoflife=p.get("endoflife"),
                line_depth=p.get("line_depth"),
                never_released=tuple(str(c) for c in p.get("never_released") or ()),
            )
        except (KeyError, TypeError, ValueError, re.error) as exc:
            raise ValueError(f"{where}: product {pid!r}: malformed entry ({exc})") from None
    distros: dict[str, Distro] = {}
    for did, d in (raw.get("distros") or {}).items():
        try:
            distros[did] = Distro(
                id=did,
                name=d["name"],
                source=d["source"],
                as_of=_date(d.get("as_of")) or _date(raw["snapshot"]),  # type: ignore[arg-type]
                extended_name=d.get("extended_name"),
                extended_severity=Severity(d.get("extended_severity", "medium")),
                releases=tuple(
                    DistroRelease(
                        str(r["release"]),
                        r.get("codename"),
                        _date(r.get("support")),
                        _date(r.get("extended")),
                    )
                    for r in d.get("releases", ())
                ),
                packages={
                    prod: {str(v): tuple(str(x) for x in rels) for v, rels in table.items()}
                    for prod, table in (d.get("packages") or {}).items()
                },
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{where}: distro {did!r}: malformed entry ({exc})") from None
    severity = raw.get("severity") or {}
    return Catalogue(
        snapshot=_date(raw["snapshot"]),  # type: ignore[arg-type]
        sources=tuple(raw.get("sources") or ()),
        eol_severity=Severity(severity.get("eol", "high")),
        behind_severity=Severity(severity.get("behind", "medium")),
        unknown_line_severity=Severity(severity.get("unknown_line", "high")),
        products=products,
        distros=distros,
        path=where,
        stale_after_days=int(raw.get("stale_after_days", 90)),
    )
