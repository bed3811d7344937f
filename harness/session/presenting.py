"""What each result carries: its labels and declared line at set-up, the probe's steps, times
and evidence at teardown, and the harness's own record on the test report (for the summary)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Generator
from pathlib import Path

import pytest

from harness.checks import Check
from harness.errors import CouldNotMeasure
from harness.inventory import declared_line
from harness.output import allure_results, last_run, result_page
from harness.output.result_page import plain_message
from harness.probes import Job, Timing
from harness.session.state import CHECK, JOB, PAGE, STATE, SUMMARY
from harness.session.subjects import AREAS, per_address_jobs

# sslyze's bundled CA store holds a root with a negative serial number; cryptography warns when
# it loads it, on every run, in words that read as if they were about the user's certificate.
# Only that warning, from that module, is silenced.
SSLYZE_CA_STORE_WARNING = (
    "ignore:Parsed a serial number which wasn't positive"
    ":cryptography.utils.CryptographyDeprecationWarning"
    r":sslyze\.plugins\.certificate_info\.trust_stores\.trust_store"
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("filterwarnings", SSLYZE_CA_STORE_WARNING)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Note the run for `harness report`, which then refuses results older than it."""
    config = session.config
    if hasattr(config, "workerinput") or not config.stash[SUMMARY].records:
        return  # an xdist worker, or no harness test ran
    alluredir = getattr(config.option, "allure_report_dir", None)
    last_run.record(Path.cwd(), alluredir, dt.datetime.now(dt.UTC))


def pytest_runtest_setup(item: pytest.Item) -> None:
    # labels go on in a hook, not a fixture: allure-pytest shows every fixture as a set-up step
    if JOB in item.stash:
        job = item.stash[JOB]
        state = item.config.stash[STATE]
        state.hide.mark_current()
        allure_results.label(item.stash[CHECK], job)
        inv = state.inventory
        if inv is not None and inv.path is not None:
            where = str(inv.path.resolve())
            allure_results.declared_at(where, declared_line(inv, job.target, job.endpoint))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if JOB not in item.stash:
        return report
    job, check = item.stash[JOB], item.stash[CHECK]
    if report.when == "teardown":
        _present(item, job, check)
        test = allure_results.current()
        if test is not None:
            message = test.statusDetails.message if test.statusDetails else ""
            status = str(test.status or "skipped")
            judged = item.stash.get(PAGE, None)
            waived = judged is not None and bool(judged.waiver)
            allure_results.finish_page(_page(item, job, check, status, message or ""), waived)
    reason = ""
    if call.excinfo is not None and isinstance(call.excinfo.value, CouldNotMeasure):
        # the reason is the whole story; a Python traceback would only hide it
        reason = str(call.excinfo.value)
        report.longrepr = reason
    props = dict(item.user_properties)
    report.user_properties.append(
        (
            "harness",
            json.dumps(
                {
                    "target": job.target.name,
                    "key": job.key,
                    "area": check.area.value,
                    "check": check.id,
                    "severity": props.get("harness_finding")
                    or props.get("harness_waived")
                    or check.severity.value,
                    "finding": "harness_finding" in props,
                    "waived": "harness_waived" in props,
                    "new": props.get("harness_new"),
                    "finding_ids": props.get("harness_finding_ids", []),
                    "left_behind": props.get("harness_left_behind", []),
                    "reason": reason,
                }
            ),
        )
    )
    return report


def _present(item: pytest.Item, job: Job, check: Check) -> None:
    """The probe's steps, times and evidence, and short parameters, on the Allure result.
    Done at teardown, when allure-pytest has set everything it sets, before it writes."""
    state = item.config.stash[STATE]
    runner = state.runner
    addresses = state.addresses.get(job.target.name)
    per_address = AREAS[check.area].per_address and addresses is not None
    allure_results.parameters(job, addresses.probed if per_address and addresses else ())
    if runner is None:
        return
    timings: list[Timing] = []
    for probe in AREAS[check.area].probes:
        for one in per_address_jobs(job, check.area, addresses):  # a step per address probed
            timing = runner.timing(probe, one.key)
            if timing is None:
                continue  # not reached: the run ended before this probe published
            # written with the subject's first result, referred to by every later one
            written = state.evidence_files.get((probe, one.key))
            state.evidence_files[(probe, one.key)] = allure_results.probe_step(
                len(timings),
                allure_results.probe_title(probe, one),
                timing,
                runner.get(probe, one.key),
                runner.take_evidence(probe, one.key),
                written,
            )
            timings.append(timing)
    if timings:
        allure_results.probe_times(min(t.start for t in timings), max(t.stop for t in timings))


def _page(item: pytest.Item, job: Job, check: Check, status: str, message: str) -> str:
    """The result's description: the verdict's meaning, whatever the status."""
    judged = item.stash.get(PAGE, None)
    reason = "" if judged is not None and status != "broken" else plain_message(message)
    return result_page.describe(
        check, job.where, status, allure_results.judged_against(check, job), judged, reason
    )
