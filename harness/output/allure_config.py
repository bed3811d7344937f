"""The Allure 3 configuration of a report: its name, the awesome plugin's grouping and charts,
the categories, and the history it reads."""

from __future__ import annotations

from pathlib import Path

from harness.output.allure_files import CATEGORIES

# The charts page leads with findings (failed) and could-not-measure (broken) by severity,
# not Allure's default pass-rate donut, which means nothing for a security report. Allure's
# level names read as the catalogue's through harness.output.allure_results.ALLURE_SEVERITY.
CHARTS: list[dict[str, object]] = [
    {
        "type": "testResultSeverities",
        "title": "Findings (failed) and could not measure (broken) by severity: critical; "
        "normal = high; minor = medium; trivial = low or info",
        "levels": ["critical", "normal", "minor", "trivial"],
        "statuses": ["failed", "broken"],
        "includeUnset": False,
    },
    {"type": "statusDynamics", "title": "Findings and could-not-measure over the kept runs"},
    {"type": "statusTransitions", "title": "New, fixed and regressed since the previous run"},
]


def allure_config(
    output: Path, history: Path | None, name: str, single_file: bool, append_history: bool = True
) -> dict[str, object]:
    config: dict[str, object] = {
        "name": name,
        "output": str(output),
        "plugins": {
            "awesome": {
                "options": {
                    "reportName": name,
                    "singleFile": single_file,
                    # a reviewer reads the report host by host, then area by area
                    "groupBy": ["parentSuite", "epic"],
                    "charts": CHARTS,
                }
            }
        },
        "categories": {"rules": CATEGORIES},
    }
    if history is not None:
        config["historyPath"] = str(history)
        config["appendHistory"] = append_history
    return config
