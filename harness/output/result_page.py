"""What a reviewer reads on an Allure result: the verdict's meaning, in Markdown.

Pure functions, so the page of every status (passed, failed, broken, skipped) is testable
without a run: what was checked, against what, what was found, who is affected, how to fix, and
the references. Allure 3 renders a result's description as Markdown (markdown-it, raw HTML off).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.areas import AREAS
from harness.checks import Check, Severity

# a finding with more list items than this is cut in the one-line message; the page and an
# attachment carry the whole list
LIST_ITEMS_SHOWN = 5

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")
_CLASS_PREFIX = re.compile(r"^(?:Failed|Skipped|(?:[A-Za-z_][\w]*\.)+[A-Z]\w*):\s*")


@dataclass(frozen=True)
class Judged:
    """What the judgement saw, kept for the page (a broken result has none)."""

    findings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    severity: Severity | None = None  # the finding's, when it escalates the check's
    not_applicable: str = ""
    waiver: str = ""  # 'waived until ... by ...: reason'
    hidden: str = ""  # the finding a waiver hides


def plain_message(message: str) -> str:
    """The message without a leading Python class name ('harness.errors.CouldNotMeasure: ',
    'Failed: '), which says nothing to a reader."""
    return _CLASS_PREFIX.sub("", message, count=1)


def _top_level_split(text: str) -> list[str]:
    """'a (x, y), b, c' -> ['a (x, y)', 'b', 'c']: commas inside brackets do not split."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0 and text[i + 1 : i + 2] == " ":
            parts.append(text[start:i].strip())
            start = i + 2
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def as_list(finding: str) -> tuple[str, list[str]] | None:
    """'TLS 1.0: A (x), B, C, ...' -> ('TLS 1.0', [items]) when it is a long list, else None."""
    head, sep, rest = finding.partition(": ")
    if not sep:
        return None
    items = _top_level_split(rest)
    return (head, items) if len(items) > LIST_ITEMS_SHOWN else None


def shorten(finding: str) -> str:
    """A long list cut to its first items and a count, for the one-line message."""
    split = as_list(finding)
    if split is None:
        return finding
    head, items = split
    shown = ", ".join(items[:LIST_ITEMS_SHOWN])
    return f"{head}: {len(items)} items: {shown} and {len(items) - LIST_ITEMS_SHOWN} more"


def findings_csv(findings: tuple[str, ...]) -> str | None:
    """Every item of the long lists among the findings, as a CSV table; None if none is long."""
    rows = []
    for finding in findings:
        split = as_list(finding)
        if split is None:
            continue
        head, items = split
        for item in items:
            name, _, detail = item.partition(" (")
            rows.append((head, name, detail.removesuffix(")")))
    if not rows:
        return None

    def cell(value: str) -> str:
        return '"' + value.replace('"', '""') + '"'

    return "\n".join(["finding,item,detail", *(",".join(map(cell, r)) for r in rows)]) + "\n"


def md(text: str) -> str:
    """Text from a target or a tool, shown literally (no accidental emphasis, links or tables)."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def reference_name(url: str) -> str:
    """A short, readable name for a reference link: CWE-327, RFC 8996, CVE-2014-0160."""
    if m := re.search(r"cwe\.mitre\.org/data/definitions/(\d+)", url):
        return f"CWE-{m.group(1)}"
    if m := re.search(r"(?:rfc-editor\.org/rfc/rfc|datatracker\.ietf\.org/doc/html/rfc)(\d+)", url):
        return f"RFC {m.group(1)}"
    if m := re.search(r"(CVE-\d{4}-\d{4,})", url, re.IGNORECASE):
        return m.group(1).upper()
    host = re.sub(r"^https?://(www\.)?", "", url).split("/", 1)
    path = host[1].rstrip("/") if len(host) > 1 else ""
    tail = path.rsplit("/", 1)[-1] if path else ""
    return f"{host[0]}: {tail}" if tail else host[0]


_VERDICT = {
    "passed": "Passed",
    "failed": "Failed",
    "broken": "Could not measure",
    "skipped": "Skipped",
}


def describe(
    check: Check,
    where: str,
    status: str,
    against: str,
    judged: Judged | None,
    reason: str = "",
) -> str:
    """The page: verdict, what was checked, against what, what was found, who is affected, how
    to fix, references. `reason` is the message of a broken or skipped result."""
    severity = (judged.severity if judged and judged.severity else None) or check.severity
    waived = judged is not None and bool(judged.waiver)
    head = "Waived" if waived else _VERDICT.get(status, status.capitalize())
    sections = [
        f"**{head}: {md(check.title)}** on {md(where)} · check `{check.id}` · severity "
        f"**{severity.value}**",
        f"### What was checked\n{md(check.description)}",
        f"### Against what\n{md(_upper_first(against))}.",
        f"### What was found\n{_found(status, judged, reason)}",
        f"### Who is affected\n{md(_upper_first(AREAS[check.area].affected.format(where=where)))}.",
        f"### How to fix\n{_fix(check, status, judged)}",
    ]
    if check.references:
        refs = "\n".join(f"- [{reference_name(u)}]({u})" for u in check.references)
        sections.append(f"### References\n{refs}")
    return "\n\n".join(sections) + "\n"


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _bullets(texts: tuple[str, ...] | list[str]) -> str:
    out = []
    for text in texts:
        split = as_list(text)
        if split is None:
            out.append(f"- {md(text)}")
            continue
        head, items = split
        more = len(items) - LIST_ITEMS_SHOWN
        out.append(f"- {md(head)}: {len(items)}, the first {LIST_ITEMS_SHOWN} here:")
        out.extend(f"    - {md(item)}" for item in items[:LIST_ITEMS_SHOWN])
        out.append(f"    - … and {more} more: every one in the attachment *all listed items*")
    return "\n".join(out)


def _found(status: str, judged: Judged | None, reason: str) -> str:
    if status == "broken" or judged is None:
        said = md(reason) if reason else "No measurement reached the judgement."
        return f"Nothing could be judged: {said}" if status == "broken" else said
    if judged.waiver:
        return f"A finding, {md(judged.waiver)}.\n\nThe finding it hides:\n\n> {md(judged.hidden)}"
    if judged.not_applicable:
        return f"Not applicable here: {md(judged.not_applicable)}."
    if judged.findings:  # its notes are in the message above, once
        return _bullets(judged.findings)
    return _bullets(judged.notes) if judged.notes else "No finding."


def _fix(check: Check, status: str, judged: Judged | None) -> str:
    fix = md(check.remediation)
    if status == "broken":
        return (
            "First make it measurable: the reason above says what stopped the probe (a host "
            "down, a port closed or filtered, a timeout too short, a tool missing). Then, if "
            f"the check finds the defect: {fix}"
        )
    if judged is not None and judged.waiver:
        return f"Before the waiver expires: {fix}"
    if status == "failed":
        return fix
    return f"Nothing to fix here. Should it change: {fix}"
