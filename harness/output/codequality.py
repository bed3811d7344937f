"""GitLab's Code Quality report (a subset of the Code Climate issue format), made from the SARIF
`harness sarif` builds, so both say the same thing: one issue per open finding, at the line of
targets.yaml that declares its subject, with the SARIF's stable fingerprint.

GitLab shows these issues in merge requests and on the pipeline page. A waived finding (a SARIF
suppression) is left out, as GitLab has no suppressions; a finding carried forward from an
earlier night (its subject could not be measured) stays in, and says so.
"""

from __future__ import annotations

from typing import Any

# GitLab's severities are info, minor, major, critical and blocker
SEVERITY = {
    "critical": "critical",
    "high": "major",
    "medium": "minor",
    "low": "info",
    "info": "info",
}


def issues(sarif: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for result in sarif["runs"][0]["results"]:
        if result.get("suppressions"):
            continue
        props = result.get("properties", {})
        location = result["locations"][0]["physicalLocation"]
        text = result["message"]["text"]  # a carried-forward finding says it was not re-measured
        out.append(
            {
                "type": "issue",
                "description": text,
                "check_name": result["ruleId"],
                "categories": ["Security"],
                "fingerprint": next(iter(result["partialFingerprints"].values())),
                "severity": SEVERITY.get(str(props.get("severity", "")), "info"),
                "location": {
                    "path": location["artifactLocation"]["uri"],
                    "lines": {"begin": int(location.get("region", {}).get("startLine", 1))},
                },
            }
        )
    return out
