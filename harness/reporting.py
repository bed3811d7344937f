"""The one place that talks to Allure: labels, descriptions, titles and evidence."""

from __future__ import annotations

from typing import Any

import allure
import allure_commons

from harness.checks import Check, Severity
from harness.probes import Job
from harness.runner import Evidence

ALLURE_SEVERITY = {
    Severity.CRITICAL: allure.severity_level.BLOCKER,
    Severity.HIGH: allure.severity_level.CRITICAL,
    Severity.MEDIUM: allure.severity_level.NORMAL,
    Severity.LOW: allure.severity_level.MINOR,
    Severity.INFO: allure.severity_level.TRIVIAL,
}
MAX_ATTACHMENT_BYTES = 2_000_000  # keep the report loadable when a probe returns a huge dump


def label(check: Check, job: Job) -> None:
    allure.dynamic.epic(check.area)
    allure.dynamic.feature(check.title)
    allure.dynamic.story(check.id)
    allure.dynamic.parent_suite(job.target.name)
    allure.dynamic.suite(job.key)
    allure.dynamic.label("target", job.target.name)
    allure.dynamic.label("check", check.id)
    allure.dynamic.label("address", job.target.host)
    set_severity(check.severity)
    if job.target.tags:
        allure.dynamic.tag(*job.target.tags)
    for ref in check.references:
        allure.dynamic.link(ref, name=ref)
    allure.dynamic.description(
        f"**What it means.** {check.description}\n\n**How to fix.** {check.remediation}\n\n"
        f"**Where.** {job.where}"
    )


def set_severity(severity: Severity) -> None:
    """Set (or replace, when a finding escalates it) the result's severity."""
    result = _current_result()
    if result is not None:
        result.labels = [lb for lb in result.labels if lb.name not in ("severity", "risk")]
    allure.dynamic.severity(ALLURE_SEVERITY[severity])
    allure.dynamic.label("risk", severity.value)


def _current_result() -> Any:
    # allure's dynamic API only appends labels; replacing one needs the live test result
    for plugin in allure_commons.plugin_manager.get_plugins():
        logger = getattr(plugin, "allure_logger", None)
        if logger is not None:
            return logger.get_test(None)
    return None


def set_title(title: str) -> None:
    allure.dynamic.title(title)


def extra_label(name: str, value: str) -> None:
    allure.dynamic.label(name, value)


def note(text: str) -> None:
    allure.attach(text, name="what was checked", attachment_type=allure.attachment_type.TEXT)


def attach(evidence: Evidence) -> None:
    body = evidence.body
    if len(body) > MAX_ATTACHMENT_BYTES:
        note = f"\n... truncated at {MAX_ATTACHMENT_BYTES} bytes"
        if isinstance(body, bytes):
            body = body[:MAX_ATTACHMENT_BYTES] + note.encode()
        else:
            body = body[:MAX_ATTACHMENT_BYTES] + note
    ext = {"application/json": "json", "application/xml": "xml", "text/plain": "txt"}.get(
        evidence.mime, "txt"
    )
    allure.attach(body, name=evidence.name, attachment_type=evidence.mime, extension=ext)
