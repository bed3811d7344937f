"""The harness's pytest plugin: options, parametrization by target, probes, verdicts, summary.

Registered through the `pytest11` entry point. It stays dormant until a collected test asks
for the `subject` fixture, so installing the harness never disturbs other test suites.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import json
import os
import sys
from collections.abc import Callable, Generator
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import allure_commons
import pytest

from harness import allure_writer, known
from harness.checks import Area, Check, Severity, get_check
from harness.errors import CouldNotMeasure, InventoryError, ProbeFailure
from harness.inventory import Inventory, declared_line, load
from harness.outcome import Verdict
from harness.output import allure_files, allure_results
from harness.probes import Job, Timing, prewarm
from harness.probes.addresses import Addresses, resolve_all
from harness.session import per_address, shard, verdicts
from harness.session.interrupts import SigtermAsInterrupt
from harness.session.runner import ProbeRunner
from harness.session.subjects import AREAS, per_address_jobs, probe_jobs, subjects
from harness.session.summary import Record, RunSummary

TARGETS_HELP = "targets file to probe (default: ./targets.yaml; ini: harness_targets)"


@dataclass
class _State:
    targets_path: Path
    known_path: Path | None = None
    known: dict[str, known.Known] | None = None
    started: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    inventory: Inventory | None = None
    error: InventoryError | None = None
    runner: ProbeRunner | None = None
    addresses: dict[str, Addresses] = field(default_factory=dict)  # by target name
    sigterm: SigtermAsInterrupt = field(default_factory=SigtermAsInterrupt)
    hide: allure_results.HideInternalFixtures = field(
        default_factory=allure_results.HideInternalFixtures
    )
    shard: set[str] | None = None  # --shard: the names of this shard's targets
    emptied: set[str] = field(default_factory=set)  # suite tests --shard left no subject


_STATE = pytest.StashKey[_State]()
_SUMMARY = pytest.StashKey[RunSummary]()
_JOB = pytest.StashKey[Job]()
_CHECK = pytest.StashKey[Check]()


@dataclass(frozen=True)
class _Measured:
    """A subject's measurement on each address of its name (see harness.session.per_address)."""

    measured: dict[str, Any]
    unmeasured: dict[str, ProbeFailure]
    named: bool  # the host is a name, so results name the address they came from
    notes: tuple[str, ...] = ()


_MEASURED = pytest.StashKey[_Measured]()
_NOTES = pytest.StashKey[tuple[str, ...]]()  # notes the measurement adds to every verdict


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "security harness")
    group.addoption("--targets", dest="harness_targets", metavar="PATH", help=TARGETS_HELP)
    group.addoption(
        "--summary-json",
        dest="harness_summary_json",
        metavar="PATH",
        help="write the end-of-run summary (counts per target and area) as JSON",
    )
    group.addoption(
        "--fail-on",
        dest="harness_fail_on",
        metavar="SEVERITY",
        choices=[s.value for s in Severity],
        help="exit non-zero only for findings at this severity or higher (critical, high, medium,"
        " low, info; default: info, every finding). Could-not-measure always fails the run.",
    )
    group.addoption(
        "--known-findings",
        dest="harness_known_findings",
        metavar="PATH",
        help="findings file of the previous run: marks each finding new or known, then updates it",
    )
    group.addoption(
        "--shard",
        dest="harness_shard",
        metavar="K/N",
        help="run only shard K of N (balanced by target), or 'auto' from the CI engine's variables",
    )
    parser.addini("harness_targets", TARGETS_HELP, default="targets.yaml")
    parser.addini("harness_known_findings", "default for --known-findings", default="")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # with pytest-xdist, keep every test of a target in one worker, so it is probed once
    if getattr(config.option, "numprocesses", None) and config.option.dist in ("no", "load"):
        config.option.dist = "loadgroup"
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and workerinput.get("harness_loadgroup"):
        config.option.loadgroup = True  # workers re-parse the original args, which lack --dist
    allure_writer.install()  # before allure-pytest's own pytest_configure creates its logger
    for area in Area:
        config.addinivalue_line("markers", f"{area}: the {area} area of the harness")
    config.addinivalue_line("markers", "check(id): the catalogue check id a suite test asserts")
    cli = config.getoption("harness_targets")
    if cli:
        path = Path(cli)
    else:
        ini = Path(str(config.getini("harness_targets")))
        path = ini if ini.is_absolute() else Path(config.rootpath, ini)
    known_opt = config.getoption("harness_known_findings") or config.getini(
        "harness_known_findings"
    )
    spec = config.getoption("harness_shard")
    if spec:
        try:
            shard.parse(spec)  # a bad --shard is a usage error before anything is collected
        except shard.ShardError as exc:
            raise pytest.UsageError(str(exc)) from None
    state = _State(targets_path=path, known_path=Path(str(known_opt)) if known_opt else None)
    state.known = known.load(state.known_path)
    config.stash[_STATE] = state
    allure_commons.plugin_manager.register(state.hide)
    config.stash[_SUMMARY] = RunSummary(previous=state.known)
    config.pluginmanager.register(_Recorder(config.stash[_SUMMARY]), "harness-recorder")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    node.workerinput["harness_loadgroup"] = node.config.getvalue("dist") == "loadgroup"


def _inventory(config: pytest.Config) -> Inventory | None:
    state = config.stash[_STATE]
    if state.inventory is None and state.error is None:
        try:
            state.inventory = load(state.targets_path)
        except InventoryError as exc:
            state.error = exc
    return state.inventory


def _check_of(definition: Any) -> Check:
    marker = definition.get_closest_marker("check")
    if marker is None or not marker.args:
        raise pytest.UsageError(f"{definition.nodeid}: a suite test needs @pytest.mark.check(ID)")
    return get_check(marker.args[0])


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "subject" not in metafunc.fixturenames:
        return
    check = _check_of(metafunc.definition)
    inv = _inventory(metafunc.config)
    jobs = subjects(inv, check.area) if inv is not None else []
    mine = _shard_targets(metafunc.config)
    if mine is not None and jobs:
        # other shards' tests are never made: collecting a fleet's 38,000 tests to deselect
        # 33,000 of them took a shard about 80 s
        jobs = [j for j in jobs if j.target.name in mine]
        if not jobs:
            metafunc.config.stash[_STATE].emptied.add(metafunc.definition.nodeid)
    if jobs and not metafunc.config.option.collectonly:
        for probe in AREAS[check.area].probes:
            prewarm(probe)
    metafunc.parametrize("subject", jobs, ids=[j.key for j in jobs])


@pytest.hookimpl(tryfirst=True)  # before -k/-m deselection, which reads the keywords set here
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    state = config.stash[_STATE]
    if state.error is not None:
        # a usage error ends the run with exit code 4 and one message, before any probe runs
        raise pytest.UsageError(state.error.render())
    _apply_shard(config, items)
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None or "subject" not in callspec.params:
            continue
        job = callspec.params["subject"]
        if not isinstance(job, Job):
            continue  # an area with no subjects: pytest's own "empty parameter set" skip
        check = _check_of(item)
        item.stash[_JOB] = job
        item.stash[_CHECK] = check
        item.add_marker(check.area.value)
        item.add_marker(pytest.mark.xdist_group(job.target.name))
        func = getattr(item, "obj", None)
        if func is not None and not hasattr(func, "__allure_display_name__"):
            # allure-pytest names results after setup from this attribute; {param_id} = subject key
            func.__allure_display_name__ = f"{check.id} · {{param_id}}"
        # `-k tls.cert.expiry` or `-k prod` select by check id or tag as well as by name
        item.extra_keyword_matches.update({check.id, job.target.name, *job.target.tags})
    _subject_order(items)


def _subject_order(items: list[pytest.Item]) -> None:
    """Run the tests subject by subject (each area's subjects in file order), not check by
    check: probes publish subject by subject, so the tests of the first scanned endpoint run
    (verdicts, Allure files) while the others are still being scanned, instead of every first
    check waiting for every endpoint. Other tests keep their place relative to each other."""
    rank: dict[int, tuple[int, int]] = {}
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        if _JOB in item.stash:
            key = item.stash[_JOB].key
            rank[index] = (first.setdefault(key, index), index)
    if not rank:
        return
    slots = sorted(rank)
    ordered = sorted(slots, key=lambda i: rank[i])
    moved = [items[i] for i in ordered]
    for slot, item in zip(slots, moved, strict=True):
        items[slot] = item


def _shard_targets(config: pytest.Config) -> set[str] | None:
    state = config.stash[_STATE]
    spec = config.getoption("harness_shard")
    if not spec or state.inventory is None:
        return None
    if state.shard is None:
        state.shard = shard.targets_of(state.inventory, spec)  # spec checked at configure
    return state.shard


def _apply_shard(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Drop the placeholder of a suite test that has subjects, but none in this shard: pytest
    would report it as skipped for an empty parameter set."""
    emptied = config.stash[_STATE].emptied
    if not emptied:
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        (drop if item.nodeid.partition("[")[0] in emptied else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_collection_finish(session: pytest.Session) -> None:
    state = session.config.stash[_STATE]
    inv = state.inventory
    if inv is None:
        return
    wanted: dict[str, set[str]] = {}
    for item in session.items:
        if _JOB in item.stash:
            wanted.setdefault(item.stash[_CHECK].area, set()).add(item.stash[_JOB].key)
    chosen = {
        (area, probe): probe_jobs(inv, area, probe, keys)
        for area, keys in wanted.items()
        for probe in AREAS[Area(area)].probes
    }
    # every address of every name, resolved once here: probes get one job per address
    named = {
        j.target.name: j.target
        for (a, _), js in chosen.items()
        if AREAS[Area(a)].per_address
        for j in js
    }
    state.addresses = resolve_all(named.values(), inv.defaults.max_concurrent_hosts or 10)
    plan: dict[str, dict[str, Job]] = {}
    for (area, probe), jobs in chosen.items():
        for job in jobs:
            for one in per_address_jobs(job, area, state.addresses.get(job.target.name)):
                plan.setdefault(probe, {})[one.key] = one
    state.runner = ProbeRunner(
        inv,
        {p: list(jobs.values()) for p, jobs in plan.items()},
        per_target=hasattr(session.config, "workerinput"),
    )
    summary = session.config.stash[_SUMMARY]
    summary.inventory = inv
    summary.targets_path = str(state.targets_path)
    state.sigterm.install()
    allure_results.slim_fixture_containers()
    # Everything imported and collected so far lives until the end: keep it out of the
    # cyclic garbage collector, which otherwise walks it on every full collection during the
    # run and five times more at pytest's exit (about 120,000 objects with sslyze loaded).
    gc.freeze()
    if not session.config.option.collectonly and not state.runner.per_target:
        state.runner.start()  # probe while pytest finishes setting up; results wait in futures


def pytest_unconfigure(config: pytest.Config) -> None:
    allure_writer.close_all()  # a write that failed after the session's end raises here
    state = config.stash.get(_STATE, None)
    if state is not None:
        state.sigterm.restore()
        if allure_commons.plugin_manager.is_registered(state.hide):
            allure_commons.plugin_manager.unregister(state.hide)


# ----------------------------------------------------------------------------------- fixtures


@pytest.fixture
def inventory(request: pytest.FixtureRequest) -> Inventory:
    inv = request.config.stash[_STATE].inventory
    assert inv is not None
    return inv


def pytest_runtest_setup(item: pytest.Item) -> None:
    # labels go on in a hook, not a fixture: allure-pytest shows every fixture as a set-up step
    if _JOB in item.stash:
        job = item.stash[_JOB]
        state = item.config.stash[_STATE]
        state.hide.mark_current()
        allure_results.label(item.stash[_CHECK], job)
        inv = state.inventory
        if inv is not None and inv.path is not None:
            where = str(inv.path.resolve())
            allure_results.declared_at(where, declared_line(inv, job.target, job.endpoint))


@pytest.fixture
def measurement(request: pytest.FixtureRequest, subject: Job) -> Any:
    """The probe result for this test's subject; raises CouldNotMeasure (broken) on failure.

    For a subject measured on several addresses, this is the first address's result, and
    pytest_pyfunc_call below runs the test once per address and folds the verdicts."""
    config = request.config
    state = config.stash[_STATE]
    runner = state.runner
    check = request.node.stash[_CHECK]
    probe = AREAS[check.area].main
    assert runner is not None, "the harness plugin planned no probes"
    spread = AREAS[check.area].per_address
    addresses = state.addresses.get(subject.target.name) if spread else None
    results: dict[str, Any] = {}
    for job in per_address_jobs(subject, check.area, addresses):
        address = job.address or subject.target.host
        results[address] = runner.get(probe, job.key, wait=lambda: _print_progress(config))
    _print_progress(config)
    if addresses is not None:
        allure_results.addresses(addresses.probed or (subject.target.host,))
    answered = next((getattr(r, "address", "") for r in results.values()), "")
    if not spread and answered:  # logins: on the name, and which address answered
        allure_results.addresses((answered,))
        if answered != subject.target.host:
            request.node.stash[_NOTES] = (f"{subject.target.host} answered at {answered}",)
    measured = {a: r for a, r in results.items() if not isinstance(r, ProbeFailure)}
    unmeasured = {a: r for a, r in results.items() if isinstance(r, ProbeFailure)}
    named = any(a != subject.target.host for a in results)
    if not measured:
        if len(unmeasured) == 1:  # its `where` already names the address
            raise CouldNotMeasure(next(iter(unmeasured.values())))
        raise CouldNotMeasure(per_address.failure(unmeasured, [], subject.where))
    notes = addresses.notes if addresses is not None else ()
    request.node.stash[_MEASURED] = _Measured(measured, unmeasured, named, notes)
    return next(iter(measured.values()))


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run a suite test once per address of its subject's name, then judge once."""
    measured = pyfuncitem.stash.get(_MEASURED, None)
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
        self.check: Check = request.node.stash[_CHECK]
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
            pytest.skip(decision.text)
        if decision.outcome == "fail":
            pytest.fail(decision.text, pytrace=False)

    def _decide(self, verdict: Verdict) -> verdicts.Decision:
        request, subject, check = self.request, self.subject, self.check
        item = request.node
        extra = item.stash.get(_NOTES, ())
        if extra:
            verdict = dataclasses.replace(verdict, notes=(*verdict.notes, *extra))
        inv: Inventory = request.config.stash[_STATE].inventory  # type: ignore[assignment]
        if verdict.title:
            allure_results.set_title(verdict.title)
        for name, value in verdict.labels.items():
            allure_results.extra_label(name, value)
        if verdict.left_behind:
            item.user_properties.append(("harness_left_behind", list(verdict.left_behind)))
        state = request.config.stash[_STATE]
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
        if decision.outcome == "pass":
            if decision.text:  # what was checked, so a green box has its evidence too
                allure_results.note(decision.text)
            return decision
        if decision.outcome == "skip":
            if decision.severity is not None:  # waived: keep the finding's severity for the summary
                item.user_properties.append(("harness_waived", decision.severity.value))
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


@pytest.fixture
def judge(request: pytest.FixtureRequest, subject: Job) -> Callable[[Verdict], None]:
    """Turn a Verdict into the result status: pass, fail with the fix, or skip with the reason."""
    return _Judge(request, subject)


def _print_progress(config: pytest.Config) -> None:
    runner = config.stash[_STATE].runner
    if runner is None:
        return
    lines = runner.drain_progress()
    if not lines:
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capman = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        return
    # tests run with output captured; suspend capture so progress reaches the terminal
    ctx = capman.global_and_fixture_disabled() if capman is not None else nullcontext()
    with ctx:
        reporter.ensure_newline()
        for line in lines:
            reporter.write_line(f"harness {line}")


# ---------------------------------------------------------------------------------- reporting


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if _JOB not in item.stash:
        return report
    job, check = item.stash[_JOB], item.stash[_CHECK]
    if report.when == "teardown":
        _present(item, job, check)
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
    state = item.config.stash[_STATE]
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
            allure_results.probe_step(
                len(timings),
                allure_results.probe_title(probe, one),
                timing,
                runner.get(probe, one.key),
                runner.take_evidence(probe, one.key),
            )
            timings.append(timing)
    if timings:
        allure_results.probe_times(min(t.start for t in timings), max(t.stop for t in timings))


class _Recorder:
    """Collects results; lives on the controller, so it also sees xdist workers' reports."""

    def __init__(self, summary: RunSummary) -> None:
        self.summary = summary

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = dict(report.user_properties).get("harness")
        if data is not None:
            self.summary.add(Record.from_report(report, json.loads(str(data))))


# Above this many failures pytest's own failure sections become one line each: it looks up each
# failure's teardown among all reports, so the sections cost failures x reports (about 45 min
# for 9,000 findings among 120,000 reports). The harness summary still names every finding.
FULL_SECTIONS_UP_TO = 300


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(
    terminalreporter: Any, exitstatus: int, config: pytest.Config
) -> Generator[None, None, None]:
    failed = len(terminalreporter.stats.get("failed", ())) + len(
        terminalreporter.stats.get("error", ())
    )
    given = [*config.invocation_params.args, *config.getini("addopts")]
    given += os.environ.get("PYTEST_ADDOPTS", "").split()
    chosen = any(a == "--tb" or a.startswith("--tb=") for a in given)  # the user's choice holds
    if failed > FULL_SECTIONS_UP_TO and not chosen and config.option.tbstyle not in ("no", "line"):
        config.option.tbstyle = "line"
        terminalreporter.write_line(
            f"harness: {failed} failures, over {FULL_SECTIONS_UP_TO}: one line each below "
            "(pass --tb=short for pytest's full sections; they take minutes at this size)",
            yellow=True,
        )
    result = yield
    _harness_summary(terminalreporter, config)  # last, under pytest's short summary
    return result


def _harness_summary(terminalreporter: Any, config: pytest.Config) -> None:
    summary = config.stash[_SUMMARY]
    if not summary.records:
        return
    if summary.inventory is None:  # the xdist controller collects nothing itself
        summary.inventory = _inventory(config)
        summary.targets_path = str(config.stash[_STATE].targets_path)
    _print_progress(config)
    for line in summary.render():
        terminalreporter.write_line(line)
    out = config.getoption("harness_summary_json")
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(summary.as_dict(), indent=2))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    state = config.stash.get(_STATE, None)
    if state is None:
        return
    if state.runner is not None:
        state.runner.shutdown()
    write_error = None
    try:
        allure_writer.flush_all()  # every result file on disk before the run-level ones
    except allure_writer.AllureWriteError as exc:
        write_error = exc
    if hasattr(config, "workerinput"):
        if write_error is not None:
            _fail_loudly(session, write_error)
        return  # xdist workers: the controller writes the run's files and applies the gate
    alluredir = getattr(config.option, "allure_report_dir", None)
    if alluredir and exitstatus == pytest.ExitCode.INTERRUPTED:
        allure_files.drop_partial(Path(alluredir))
    summary = config.stash[_SUMMARY]
    if not summary.records:
        if write_error is not None:
            _fail_loudly(session, write_error)
        return
    if alluredir and write_error is None:
        try:
            allure_files.write(Path(alluredir), state.targets_path, state.started)
        except OSError as exc:
            write_error = allure_writer.AllureWriteError(
                f"the run's Allure files could not be written to {alluredir} ({exc}); the "
                "report would lack its environment and categories. Fix the folder, then rerun."
            )
    if state.known_path is not None:
        failing = {fid: (r.check, r.key) for r in summary.findings() for fid in r.finding_ids}
        known.save(
            state.known_path,
            known.update(state.known, summary.judged(), failing, dt.date.today()),
        )
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    stats = reporter.stats if reporter is not None else {}
    session.exitstatus = summary.exit_status(
        config.getoption("harness_fail_on"),
        failures=len(stats.get("failed", [])) + len(stats.get("error", [])),
        status=int(session.exitstatus),
    )
    if write_error is not None:
        _fail_loudly(session, write_error)


def _fail_loudly(session: pytest.Session, error: Exception) -> None:
    """A report missing results must not pass: say why, and exit as an internal error."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"harness: {error}", red=True, bold=True)
    else:
        print(f"harness: {error}", file=sys.stderr)
    session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
