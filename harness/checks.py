"""The check catalogue: stable ids with area, title, severity, meaning, fix and references.

A check is defined in one place: its entry in harness/data/checks.yaml (the prose), tied to the
policy function that decides it by `@decides("<id>")` on that function. The suite test that runs
it carries `@pytest.mark.check("<id>")`. tests/test_check_registry.py fails when the three differ.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any, TypeVar

from harness.areas import Area
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


# check id -> the policy function that decides it; filled as harness.policy modules are imported
DECIDERS: dict[str, Callable[..., Any]] = {}
_F = TypeVar("_F", bound=Callable[..., Any])


def decides(check_id: str) -> Callable[[_F], _F]:
    """Mark a policy function as the one that decides `check_id` (an id of checks.yaml)."""

    def register(func: _F) -> _F:
        known = DECIDERS.get(check_id)
        if known is not None and _name(known) != _name(func):
            raise ValueError(f"check {check_id} is decided twice: {_name(known)}, {_name(func)}")
        DECIDERS[check_id] = func
        return func

    return register


def _name(func: Callable[..., Any]) -> str:
    return f"{func.__module__}.{func.__qualname__}"
