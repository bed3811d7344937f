"""The suites' fixtures: `measurement` (the probe result of the test's subject) and `judge`
(a Verdict turned into pass, fail with the fix, or skip with the reason), and the call that
runs a suite test once per address of its subject's name before judging once."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest

from harness.checks import Check
from harness.errors import CouldNotMeasure, ProbeFailure
from harness.inventory import Inventory
from harness.outcome import Verdict
from harness.output import allure_results, result_page
from harness.output.result_page import Judged
from harness.probes import Evidence, Job
from harness.session import per_address, verdicts
from harness.session.state import CHECK, MEASURED, NOTES, PAGE, STATE, Measured, print_progress
from harness.session.subjects import AREAS, per_address_jobs


@pytest.fixture
def measurement(request: pytest.FixtureRequest, subject: Job) -> Any:
    """The probe result for this test's subject; raises CouldNotMeasure (broken) on failure.

    For a subject measured on several addresses, this is the first address's result, and
    pytest_pyfunc_call below runs the test once per address and folds the verdicts."""
    config = request.config
    state = config.stash[STATE]
    runner = state.runner
    check = request.node.stash[CHECK]
    probe = AREAS[check.area].main
    assert runner is not None, "the harness plugin planned no probes"
    spread = AREAS[check.area].per_address
    addresses = state.addresses.get(subject.target.name) if spread else None
    results: dict[str, Any] = {}
    for job in per_address_jobs(subject, check.area, addresses):
        address = job.address or subject.target.host
        results[address] = runner.get(probe, job.key, wait=lambda: print_progress(config))
    print_progress(config)
    if addresses is not None:
        allure_results.addresses(addresses.probed or (subject.target.host,))
    answered = next((getattr(r, "address", "") for r in results.values()), "")
    if not spread and answered:  # logins: on the name, and which address answered
        allure_results.addresses((answered,))
        if answered != subject.target.host:
            request.node.stash[NOTES] = (f"{subject.target.host} answered at {answered}",)
    measured = {a: r for a, r in results.items() if not isinstance(r, ProbeFailure)}
    unmeasured = {a: r for a, r in results.items() if isinstance(r, ProbeFailure)}
    named = any(a != subject.target.host for a in results)
    if not measured:
        if len(unmeasured) == 1:  # its `where` already names the address
            raise CouldNotMeasure(next(iter(unmeasured.values())))
        raise CouldNotMeasure(per_address.failure(unmeasured, [], subject.where))
    notes = addresses.notes if addresses is not None else ()
    request.node.stash[MEASURED] = Measured(measured, unmeasured, named, notes)
    return next(iter(measured.values()))


@pytest.fixture
def tls_run(request: pytest.FixtureRequest, subject: Job) -> list[Any]:
    """Every TLS endpoint this run measured, for checks that look across endpoints (DROWN: the
    same key served over SSLv2 elsewhere). It waits for their scans; an xdist worker, which
    probes target by target, looks only at its subject's target rather than probe others."""
    runner = request.config.stash[STATE].runner
    assert runner is not None, "the harness plugin planned no probes"
    jobs = runner.plan.get("tls", [])
    if runner.per_target:
        jobs = [j for j in jobs if j.target.name == subject.target.name]
    wait = lambda: print_progress(request.config)  # noqa: E731
    results = [runner.get("tls", j.key, wait=wait) for j in jobs]
    return [r for r in results if not isinstance(r, ProbeFailure)]


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run a suite test once per address of its subject's name, then judge once."""
    measured = pyfuncitem.stash.get(MEASURED, None)
    judge = pyfuncitem.funcargs.get("judge")
    if measured is None or not measured.named or not isinstance(judge, _Judge):
        return None  # an address as host: pytest calls the test as usual
    names = pyfuncitem._fixtureinfo.argnames
    by_address: dict[str, Verdict] = {}
    unmeasured = dict(measured.unmeasured)
    judge.collecting = True
    try:
        for address, result in measured.measured.items():
            args = {name: pyfuncitem.funcargs[name] for name in names}
            args["measurement"] = result
            judge.collected = Verdict()  # a test that never calls judge passed
            try:
                pyfuncitem.obj(**args)
            except CouldNotMeasure as exc:  # a field this check needs was not measured here
                unmeasured[address] = exc.failure
                continue
            by_address[address] = judge.collected
    finally:
        judge.collecting = False
    subject: Job = pyfuncitem.funcargs["subject"]  # type: ignore[assignment]
    combined = per_address.combine(
        by_address, unmeasured, named=True, where=subject.where, extra_notes=measured.notes
    )
    if combined.failure is not None:
        raise CouldNotMeasure(combined.failure)
    assert combined.verdict is not None
    judge(combined.verdict)
    return True


class _Judge:
    """Turns a Verdict into the result status: pass, fail with the fix, or skip with the reason.

    While `collecting` (one address of several), it only records the verdict."""

    def __init__(self, request: pytest.FixtureRequest, subject: Job) -> None:
        self.request = request
        self.subject = subject
        self.check: Check = request.node.stash[CHECK]
        self.collecting = False
        self.collected = Verdict()

    def __call__(self, verdict: Verdict) -> None:
        __tracebackhide__ = True
        if self.collecting:
            self.collected = verdict
            return
        with allure_results.step(allure_results.judged_against(self.check, self.subject)):
            decision = self._decide(verdict)
        # the outcome is raised after the step, so the page shows the message once, on top
        allure_results.last_step_status(decision.outcome)
        if decision.outcome == "skip":
            hides = f". The finding it hides: {decision.hidden}" if decision.hidden else ""
            pytest.skip(decision.text + hides)
        if decision.outcome == "fail":
            pytest.fail(decision.text, pytrace=False)

    def _decide(self, verdict: Verdict) -> verdicts.Decision:
        request, subject, check = self.request, self.subject, self.check
        item = request.node
        extra = item.stash.get(NOTES, ())
        if extra:
            verdict = dataclasses.replace(verdict, notes=(*verdict.notes, *extra))
        inv: Inventory = request.config.stash[STATE].inventory  # type: ignore[assignment]
        if verdict.title:
            allure_results.set_title(verdict.title)
        for name, value in verdict.labels.items():
            allure_results.extra_label(name, value)
        if verdict.left_behind:
            item.user_properties.append(("harness_left_behind", list(verdict.left_behind)))
        state = request.config.stash[STATE]
        decision = verdicts.decide(
            check,
            subject,
            verdict,
            inv.waivers,
            state.known,
            dt.date.today(),
            track_age=state.known_path is not None,
        )
        if decision.severity is not None:
            allure_results.set_severity(decision.severity)
        found = tuple(f.text for f in verdict.findings)
        item.stash[PAGE] = Judged(
            findings=found,
            notes=verdict.notes,
            severity=decision.severity,
            not_applicable=verdict.not_applicable or "",
            waiver=decision.text if decision.waived else "",
            hidden=decision.hidden,
        )
        table = result_page.findings_csv(found)
        if table is not None:  # a long list, cut in the message: every item, as a table
            allure_results.attach(Evidence("all listed items", table, "text/csv"))
        if decision.outcome == "pass":
            if decision.text:  # what was checked, so a green box has its evidence too
                allure_results.note(decision.text)
            return decision
        _details(decision)
        if decision.outcome == "skip":
            if decision.severity is not None:  # waived: keep the finding's severity for the summary
                item.user_properties.append(("harness_waived", decision.severity.value))
            if decision.waived:  # Allure's "Waived" category, and the page's "waived" line
                allure_results.extra_label("waived", decision.text)
            return decision
        assert decision.severity is not None
        item.user_properties.append(("harness_finding", decision.severity.value))
        item.user_properties.append(("harness_finding_ids", list(decision.finding_ids)))
        if decision.new is not None:
            allure_results.extra_label("finding", "new" if decision.new else "known")
            item.user_properties.append(("harness_new", decision.new))
        for fid in dict.fromkeys(decision.finding_ids):  # identities, for SARIF fingerprints
            allure_results.extra_label("finding_id", fid)
        if decision.first_seen is not None:
            allure_results.extra_label("first_seen", decision.first_seen.isoformat())
        return decision


def _details(decision: verdicts.Decision) -> None:
    """Each finding's own severity and words, and the waiver in force, as labels for SARIF."""
    for d in decision.details:
        detail = {"id": d.id, "severity": d.severity.value, "text": d.text}
        allure_results.extra_label("finding_detail", json.dumps(detail))
    w = decision.waiver
    if w is not None:
        allure_results.extra_label("waiver_reason", w.reason)
        allure_results.extra_label("waiver_expires", w.expires.isoformat())
        if w.owner:
            allure_results.extra_label("waiver_owner", w.owner)


@pytest.fixture
def judge(request: pytest.FixtureRequest, subject: Job) -> Callable[[Verdict], None]:
    """Turn a Verdict into the result status: pass, fail with the fix, or skip with the reason."""
    return _Judge(request, subject)
