"""The checks reference, generated from the catalogue (harness/data/checks.yaml) and the
registry of deciding policy functions: `harness checks --explain ID` prints one entry,
`harness checks --markdown` the whole of docs/checks.md (tests/test_checks_doc.py fails when the
file and the catalogue differ)."""

from __future__ import annotations

from harness.areas import AREAS, define_checks
from harness.checks import DEFINITIONS, Check, catalogue
from harness.output.result_page import reference_name


def deciders() -> dict[str, str]:
    """check id -> the policy function deciding it, by name (imports every area's policy)."""
    define_checks()
    return {cid: d.name for cid, d in DEFINITIONS.items()}


def entry(check: Check, decided_by: str, level: str = "##") -> str:
    """One check's reference entry, in Markdown."""
    refs = ", ".join(f"[{reference_name(u)}]({u})" for u in check.references) or "none"
    return "\n".join(
        [
            f"{level} `{check.id}`: {check.title}",
            "",
            f"- **Area:** {check.area.value}",
            f"- **Severity:** {check.severity.value} (the default; a finding may carry its own)",
            f"- **Decided by:** `{decided_by or 'no policy function'}`",
            "",
            f"**What it means.** {check.description}",
            "",
            f"**How it is measured.** {AREAS[check.area].measured}",
            "",
            f"**How to fix.** {check.remediation}",
            "",
            f"**What makes it broken (could not measure).** {AREAS[check.area].broken}",
            "",
            f"**References.** {refs}",
            "",
        ]
    )


def explain(check_id: str) -> str | None:
    """One check's entry, for the terminal; None for an unknown id."""
    check = catalogue().get(check_id)
    if check is None:
        return None
    return entry(check, deciders().get(check_id, ""), level="#")


def markdown() -> str:
    """docs/checks.md: an index table, then every check's entry, in catalogue order."""
    checks = list(catalogue().values())
    by = deciders()
    lines = [
        "# Checks reference",
        "",
        "Generated from `harness/data/checks.yaml` and the policy registry by",
        "`harness checks --markdown > docs/checks.md`; do not edit by hand",
        "(`tests/test_checks_doc.py` fails when this file and the catalogue differ).",
        "One check: `harness checks --explain ID`.",
        "",
        "| Check | Area | Severity | Title |",
        "|---|---|---|---|",
        *(f"| `{c.id}` | {c.area.value} | {c.severity.value} | {c.title} |" for c in checks),
        "",
    ]
    for check in checks:
        lines.append(entry(check, by.get(check.id, "")))
    return "\n".join(lines)
