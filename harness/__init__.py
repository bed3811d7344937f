"""Security test harness: pytest suites that probe declared hosts and report in Allure."""

from harness.checks import Check, Severity, get_check
from harness.errors import CouldNotMeasure, FailureKind, HarnessError, InventoryError, ProbeFailure
from harness.outcome import Finding, Verdict

__version__ = "0.1.0"
__all__ = [
    "Check",
    "CouldNotMeasure",
    "FailureKind",
    "Finding",
    "HarnessError",
    "InventoryError",
    "ProbeFailure",
    "Severity",
    "Verdict",
    "get_check",
]
