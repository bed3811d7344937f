"""The check catalogue: stable ids with area, title, severity, meaning, fix and references.

A check is defined in two halves and nowhere else: its entry in harness/data/checks.yaml (the
prose: area, title, severity, description, remediation, references), and `@check("<id>")` on the
policy function that decides it (the code: what it is judged against, what more it reads). The
suites are generated from the definitions (harness.session.suite); tests/test_check_registry.py
fails when the two halves differ.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any, TypeVar

from harness.data import load_yaml


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is worse; used by the severity gate and the summary ordering."""
        return _RANK[self]


class Area(StrEnum):
    """The areas checks belong to, also the names of the probe kinds; what each one probes,
    its subjects and its words are in harness.areas."""

    TLS = "tls"
    PORTS = "ports"
    BANNERS = "banners"
    LOGINS = "logins"
    SSH = "ssh"


_RANK = {
    Severity.INFO: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}


@dataclass(frozen=True)
class Check:
    id: str
    area: Area
    title: str
    severity: Severity
    description: str
    remediation: str
    references: tuple[str, ...]


@cache
def catalogue() -> dict[str, Check]:
    raw = load_yaml(resources.files("harness.data").joinpath("checks.yaml").read_text())
    checks: dict[str, Check] = {}
    for check_id, entry in raw["checks"].items():
        if entry["area"] not in set(Area):
            raise ValueError(f"check {check_id}: unknown area {entry['area']!r}")
        checks[check_id] = Check(
            id=check_id,
            area=Area(entry["area"]),
            title=entry["title"],
            severity=Severity(entry["severity"]),
            description=" ".join(entry["description"].split()),
            remediation=" ".join(entry["remediation"].split()),
            references=tuple(entry.get("references", ())),
        )
    return checks


def get_check(check_id: str) -> Check:
    try:
        return catalogue()[check_id]
    except KeyError:
        raise KeyError(f"unknown check id {check_id!r}; see harness/data/checks.yaml") from None


# ------------------------------------------------------------------ the code half of a check


@dataclass(frozen=True)
class Definition:
    """A check's code: the function that decides it, `(measurement, subject) -> Verdict` (raising
    CouldNotMeasure when a part it needs was not measured), what its verdict is judged against
    (None: its area's default words), and any further run-wide fixture it reads by name."""

    id: str
    decide: Callable[..., Any]
    judged_against: Callable[[Any], str] | None = None
    needs: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return _name(self.decide)


# check id -> its definition; filled as each area's policy module is imported
# (harness.areas.define_checks imports them all)
DEFINITIONS: dict[str, Definition] = {}
# area -> what its checks are judged against unless a definition says otherwise
JUDGED_AGAINST: dict[Area, Callable[[Any], str]] = {}
_F = TypeVar("_F", bound=Callable[..., Any])


def check(
    check_id: str,
    *,
    judged_against: Callable[[Any], str] | None = None,
    needs: tuple[str, ...] = (),
) -> Callable[[_F], _F]:
    """Define check `check_id` (its prose is its entry in harness/data/checks.yaml) by the
    function it decorates, `(measurement, subject) -> Verdict`; `needs` names further fixtures
    it takes as keywords (tls_run: every TLS endpoint of the run)."""

    def register(func: _F) -> _F:
        known = DEFINITIONS.get(check_id)
        if known is not None and known.name != _name(func):
            raise ValueError(f"check {check_id} is decided twice: {known.name}, {_name(func)}")
        DEFINITIONS[check_id] = Definition(check_id, func, judged_against, needs)
        return func

    return register


def judged_by_default(area: Area) -> Callable[[_F], _F]:
    """Mark `subject -> str` as what the checks of `area` are judged against by default."""

    def register(func: _F) -> _F:
        JUDGED_AGAINST[area] = func
        return func

    return register


def judged_against(check_id: str, subject: Any) -> str:
    """'judged against ...' for one check on one subject (its area's policy must be loaded)."""
    definition = DEFINITIONS[check_id]
    words = definition.judged_against or JUDGED_AGAINST[get_check(check_id).area]
    return words(subject)


def _name(func: Callable[..., Any]) -> str:
    return f"{func.__module__}.{func.__qualname__}"
