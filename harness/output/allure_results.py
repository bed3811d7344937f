"""The one place that talks to Allure: labels, descriptions, titles and evidence."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import allure
import allure_commons
from allure_commons.model2 import Attachment, Parameter, Status, StatusDetails, TestStepResult
from allure_commons.utils import uuid4

from harness import checks
from harness.areas import area_of, define_checks
from harness.checks import Check, Severity
from harness.errors import ProbeFailure
from harness.inventory import LoginEndpoint, TlsEndpoint
from harness.inventory.models import SshEndpoint
from harness.output.result_page import plain_message, reference_name
from harness.probes import Evidence, Job, Timing

# Allure has five fixed levels (blocker, critical, normal, minor, trivial) and none is "high".
# A critical finding must read "critical", so the catalogue's levels map from there down
# (blocker, which means "stops the release" in Allure, is not used); the catalogue's own word
# rides beside it, verbatim, as the `risk` label and a "severity: <word>" tag.
ALLURE_SEVERITY = {
    Severity.CRITICAL: allure.severity_level.CRITICAL,
    Severity.HIGH: allure.severity_level.NORMAL,
    Severity.MEDIUM: allure.severity_level.MINOR,
    Severity.LOW: allure.severity_level.TRIVIAL,
    Severity.INFO: allure.severity_level.TRIVIAL,
}
SEVERITY_TAG = "severity: "
MAX_ATTACHMENT_BYTES = 2_000_000  # keep the report loadable when a probe returns a huge dump


def label(check: Check, job: Job) -> None:
    allure.dynamic.epic(check.area)
    allure.dynamic.feature(check.title)
    allure.dynamic.story(check.id)
    allure.dynamic.parent_suite(job.target.name)
    allure.dynamic.suite(job.key)
    allure.dynamic.label("target", job.target.name)
    allure.dynamic.label("check", check.id)
    allure.dynamic.label("host", job.target.host)
    set_severity(check.severity)
    if job.target.tags:
        allure.dynamic.tag(*job.target.tags)
    for ref in check.references:
        allure.dynamic.link(ref, name=reference_name(ref))  # "CWE-327", not the whole URL
    allure.dynamic.description(
        f"**What it means.** {check.description}\n\n**How to fix.** {check.remediation}\n\n"
        f"**Where.** {job.where}"
    )


def addresses(probed: tuple[str, ...]) -> None:
    """One `address` label per address the result was measured on (a multi-valued label, so
    a filter on one address finds every result that covers it)."""
    for address in probed:
        allure.dynamic.label("address", address)


def set_severity(severity: Severity) -> None:
    """Set (or replace, when a finding escalates it) the result's severity."""
    result = _current_result()
    if result is not None:
        result.labels = [
            lb
            for lb in result.labels
            if lb.name not in ("severity", "risk")
            and not (lb.name == "tag" and lb.value.startswith(SEVERITY_TAG))
        ]
    allure.dynamic.severity(ALLURE_SEVERITY[severity])
    allure.dynamic.label("risk", severity.value)
    allure.dynamic.tag(SEVERITY_TAG + severity.value)


def _logger() -> Any:
    for plugin in allure_commons.plugin_manager.get_plugins():
        logger = getattr(plugin, "allure_logger", None)
        if logger is not None:
            return logger
    return None


def current() -> Any:
    """The live Allure test result of the running test, or None outside one."""
    return _current_result()


def _current_result() -> Any:
    # allure's dynamic API only appends labels; replacing one needs the live test result
    logger = _logger()
    return logger.get_test(None) if logger is not None else None


def declared_at(path: str, line: int | None) -> None:
    """Where the subject is declared, for SARIF's physical locations."""
    allure.dynamic.label("targets_file", path)
    if line:
        allure.dynamic.label("targets_line", str(line))


# ------------------------------------------------------------------- the test page for people


def probe_title(probe: str, job: Job) -> str:
    ep = job.endpoint
    if isinstance(ep, TlsEndpoint):
        where = f"{job.target.host}:{ep.label}"
    elif isinstance(ep, LoginEndpoint):
        where = ep.label
    elif isinstance(ep, SshEndpoint):
        where = f"{job.target.host}:{ep.port}"
    else:
        where = job.target.host
    at = f" at {job.address}" if job.address and job.address != job.target.host else ""
    return f"{area_of(probe).tool} of {where}{at}"


def probe_step(
    index: int,
    title: str,
    timing: Timing,
    result: Any,
    evidence: list[Evidence],
    written: list[Attachment] | None = None,
) -> list[Attachment]:
    """A step that says what the probe did, when, and how long, with its evidence attached.

    `written`: the attachments an earlier result of the same subject wrote for this evidence;
    referred to again, not written again. Returns the step's attachments, for the next result."""
    logger = _logger()
    test = _current_result()
    if logger is None or test is None:
        return []
    uuid = uuid4()
    name = f"{title} ({timing.seconds:.1f} s)"
    step = TestStepResult(name=name, start=timing.start)
    logger.start_step(test.uuid, uuid, step)
    failed = isinstance(result, ProbeFailure)
    if written is not None:
        step.attachments.extend(written)
    else:
        if failed and not evidence:  # nothing from the tool: the failure itself is the record
            evidence = [_failure_record(title, timing, result)]
        for item in evidence:
            attach(item)
    logger.stop_step(
        uuid,
        stop=timing.stop,
        status=Status.BROKEN if failed else Status.PASSED,
        statusDetails=StatusDetails(message=str(result)) if failed else None,
    )
    test.steps.remove(step)  # the probe ran before the judgement: show it first
    test.steps.insert(index, step)
    return list(step.attachments)


def _failure_record(title: str, timing: Timing, failure: ProbeFailure) -> Evidence:
    """What was tried and why it gave no measurement, for a probe that left no output."""
    record = {
        "probe": title,
        "where": failure.where,
        "could_not_measure": failure.kind.value,
        "reason": failure.reason,
        "started": dt.datetime.fromtimestamp(timing.start / 1000, dt.UTC).isoformat(),
        "seconds": round(timing.seconds, 3),
    }
    return Evidence("probe failure", json.dumps(record, indent=2), "application/json")


def probe_times(start: int, stop: int) -> None:
    """The result lasts as long as its subject's probe did, so Allure's durations and
    timeline show which hosts are slow (the judgement itself takes no time)."""
    test = _current_result()
    if test is not None:
        test.start, test.stop = start, stop


def parameters(job: Job, probed: tuple[str, ...] = ()) -> None:
    """Short parameters a person can read: the subject key, not the Job's Python repr.

    `probed` are the addresses of the target's name the result was measured on."""
    test = _current_result()
    if test is None:
        return
    shown = [("address", job.target.host)]
    if probed and probed != (job.target.host,):
        shown = [("host", job.target.host), ("address", ", ".join(probed))]
    ep = job.endpoint
    if isinstance(ep, TlsEndpoint):
        shown += [
            ("port", str(ep.port)),
            ("SNI", ep.server_name or job.target.host),
            ("profile", job.settings.tls_profile),
        ]
    elif isinstance(ep, LoginEndpoint):
        shown += [("login", ep.label)]
    # `subject` keeps its name (allure's historyId reads it); the rest are excluded from it
    kept = [p for p in test.parameters if p.name != "subject"]
    test.parameters = [
        Parameter(name="subject", value=job.key),
        *(Parameter(name=n, value=v, excluded=True) for n, v in shown),
        *(p for p in kept if p.name not in dict(shown)),
    ]


def judged_against(check: Check, job: Job) -> str:
    """What the check's verdict is judged against: its definition's words, or its area's."""
    define_checks(check.area)
    return checks.judged_against(check.id, job)


@contextmanager
def step(title: str) -> Iterator[None]:
    with allure.step(title):
        yield


def last_step_status(outcome: str) -> None:
    """Mark the last step failed or skipped, without repeating the result's message in it."""
    test = _current_result()
    if test is not None and test.steps and outcome != "pass":
        test.steps[-1].status = Status.FAILED if outcome == "fail" else Status.SKIPPED


class HideInternalFixtures:
    """allure-pytest shows every fixture as a set-up step; the harness's own (measurement,
    judge, subject, ...) say nothing to a reader, so their containers go out empty."""

    def __init__(self) -> None:
        self.results: set[str] = set()

    def mark_current(self) -> None:
        test = _current_result()
        if test is not None:
            self.results.add(test.uuid)

    @allure_commons.hookimpl(tryfirst=True)
    def report_container(self, container: Any) -> None:
        # no children: the parametrization's pseudo-fixture, linked to no result at all
        if set(container.children or ()) <= self.results:
            container.befores = []
            container.afters = []


def set_title(title: str) -> None:
    allure.dynamic.title(title)


def extra_label(name: str, value: str) -> None:
    allure.dynamic.label(name, value)


def note(text: str) -> None:
    """What a passing check looked at, in the result's description (no file of its own: one
    attachment per passing test was a third of a run's result files)."""
    result = _current_result()
    if result is not None:
        result.description = f"{result.description or ''}\n\n**What was checked.** {text}"


def finish_page(description: str, waived: bool = False) -> None:
    """The page's last touches, once allure-pytest has set everything it sets: the verdict's
    meaning as the description (allure-pytest sets the docstring's after set-up), a message
    without a Python class name and no trace repeating it, and no `host` label naming the
    machine the run was on (the `host` label is the target's)."""
    test = _current_result()
    if test is None:
        return
    test.description = description
    if waived:  # the description shows the waiver and the finding, not a box titled "Error"
        test.statusDetails = None
    details = test.statusDetails
    if details is not None and details.message:
        details.message = plain_message(details.message)
        if details.trace and plain_message(details.trace.strip()) == details.message.strip():
            details.trace = None
    hosts = [lb for lb in test.labels if lb.name == "host"]  # the target's first, set up front
    test.labels = [lb for lb in test.labels if lb.name != "host" or lb is hosts[0]]


def attach(evidence: Evidence) -> None:
    body = evidence.body
    if len(body) > MAX_ATTACHMENT_BYTES:
        note = f"\n... truncated at {MAX_ATTACHMENT_BYTES} bytes"
        if isinstance(body, bytes):
            body = body[:MAX_ATTACHMENT_BYTES] + note.encode()
        else:
            body = body[:MAX_ATTACHMENT_BYTES] + note
    ext = {
        "application/json": "json",
        "application/xml": "xml",
        "text/plain": "txt",
        "text/csv": "csv",
    }.get(evidence.mime, "txt")
    allure.attach(body, name=evidence.name, attachment_type=evidence.mime, extension=ext)


def _holds_something(container: Any) -> bool:
    """A fixture container worth a file: a set-up or tear-down with evidence, steps or trouble."""
    return any(
        fixture.attachments
        or fixture.steps
        or fixture.parameters
        or fixture.status not in (None, "passed")
        for fixture in [*container.befores, *container.afters]
    )


def slim_fixture_containers() -> None:
    """Write allure-pytest's fixture containers only when they hold something.

    allure-pytest writes one container file per fixture per test: four per harness test
    (subject, measurement, judge, labels), 80% of a run's result files, nearly all of them a
    fixture name and two timestamps (HideInternalFixtures empties the harness's own first).
    Containers with evidence, steps or a failed set-up are still written. allure-commons has no
    option for this, so the file logger's registered report_container hook is wrapped in place.
    """
    from allure_commons.logger import AllureFileLogger

    for impl in allure_commons.plugin_manager.hook.report_container.get_hookimpls():
        if not isinstance(impl.plugin, AllureFileLogger) or hasattr(impl.function, "slim"):
            continue

        def report_container(container: Any, _write: Any = impl.function) -> None:
            if _holds_something(container):
                _write(container)

        report_container.slim = True  # type: ignore[attr-defined]
        impl.function = report_container
