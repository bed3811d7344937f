"""The harness's exceptions.

HarnessError
 ├── InventoryError      targets.yaml is missing, unreadable or invalid (usage error, exit 4)
 └── CouldNotMeasure     a probe could not run; the test ends `broken`, never `passed`
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class HarnessError(Exception):
    """Root of every error the harness raises on purpose."""


class InventoryError(HarnessError):
    """targets.yaml cannot be used. `problems` holds one readable line per defect."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        head = f"{self.path}: invalid targets file"
        if len(self.problems) == 1:
            return f"{head}: {self.problems[0]}"
        return head + "\n" + "\n".join(f"  - {p}" for p in self.problems)


class FailureKind(StrEnum):
    """Why a probe could not measure. Allure's "Could not measure" categories split on these."""

    TIMEOUT = "timeout"
    REFUSED = "refused"
    DNS = "dns"
    TOOL_MISSING = "tool missing"
    AMBIGUOUS = "ambiguous endpoint"
    PROTOCOL = "protocol error"
    SCOPE = "outside declared scope"  # a server pointed the probe at an undeclared destination
    ERROR = "error"


@dataclass(frozen=True)
class ProbeFailure:
    """A typed "could not measure": what was probed, and why it failed."""

    kind: FailureKind
    where: str
    reason: str

    def __str__(self) -> str:
        return f"could not measure {self.where} ({self.kind}): {self.reason}"


class CouldNotMeasure(HarnessError):
    """Raised from a fixture so the test ends as a pytest error (Allure: broken)."""

    def __init__(self, failure: ProbeFailure) -> None:
        self.failure = failure
        super().__init__(str(failure))
