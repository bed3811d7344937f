"""The harness's pytest plugin: options, run state, summary, exit status, and the run's files.

Registered through the `pytest11` entry point. It stays dormant until a collected test asks
for the `subject` fixture, so installing the harness never disturbs other test suites.
The rest of the session lives in the modules named in `pytest_plugins`, which pytest registers
with this one: collection (parametrization, shards, the probe plan), judging (the suites'
fixtures and verdicts) and presenting (what each Allure result and test report carries).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import allure_commons
import pytest

from harness import atomic, known, redact
from harness.areas import Area
from harness.checks import Severity
from harness.inventory import Inventory
from harness.output import allure_files, allure_writer
from harness.probes import stopping
from harness.session import hooks, recording, shard
from harness.session.state import STATE, SUMMARY, State, inventory_of, print_progress
from harness.session.summary import Record, RunSummary

pytest_plugins = [
    "harness.session.collection",
    "harness.session.discovery",
    "harness.session.judging",
    "harness.session.presenting",
    "harness.session.run_record",
]

TARGETS_HELP = "targets file to probe (default: ./targets.yaml; ini: harness_targets)"


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hooks)


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
    redact.guard_streams()  # before the terminal reporter takes sys.stdout as its file
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
    state = State(targets_path=path, known_path=Path(str(known_opt)) if known_opt else None)
    state.known = known.load(state.known_path)
    config.stash[STATE] = state
    allure_commons.plugin_manager.register(state.hide)
    config.stash[SUMMARY] = RunSummary(previous=state.known)
    config.pluginmanager.register(_Recorder(config.stash[SUMMARY]), "harness-recorder")
    config.pluginmanager.register(_Interrupts(config, state), "harness-interrupts")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    node.workerinput["harness_loadgroup"] = node.config.getvalue("dist") == "loadgroup"


def pytest_unconfigure(config: pytest.Config) -> None:
    allure_writer.close_all()  # the writer threads stop; a late failed write goes to stderr
    state = config.stash.get(STATE, None)
    if state is not None:
        if allure_commons.plugin_manager.is_registered(state.hide):
            allure_commons.plugin_manager.unregister(state.hide)


@pytest.fixture
def inventory(request: pytest.FixtureRequest) -> Inventory:
    inv = request.config.stash[STATE].inventory
    assert inv is not None
    return inv


class _Recorder:
    """Collects results; lives on the controller, so it also sees xdist workers' reports."""

    def __init__(self, summary: RunSummary) -> None:
        self.summary = summary

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = dict(report.user_properties).get("harness")
        if data is not None:
            self.summary.add(Record.from_report(report, json.loads(str(data))))


KEPT_AFTER_SIGTERM = (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR)


class _Interrupts:
    """Where a SIGTERM stops raising (the session finishes) and where, at the very end, it
    turns the exit status into 2 (interrupted); see harness.session.interrupts."""

    def __init__(self, config: pytest.Config, state: State) -> None:
        self.config = config
        self.state = state
        self.session: pytest.Session | None = None

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # under xdist, from the start: a worker that died of the signal while it collects would
        # be replaced by a new one, which collects and probes again
        if session.config.pluginmanager.has_plugin("dsession"):  # the controller
            self.session = session
            self.state.sigterm.install(forward=True)
        elif hasattr(session.config, "workerinput"):
            self.session = session
            self.state.sigterm.install()

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Generator[None, None, None]:
        self.state.sigterm.finishing()  # before any plugin's sessionfinish work starts
        self.session = session
        return (yield)

    @pytest.hookimpl(tryfirst=True)
    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        self.state.sigterm.finishing()
        if excinfo.value is self.state.sigterm.raised and not self.config.option.fulltrace:
            # where the signal landed says nothing, and pytest renders every frame of it with
            # its arguments next (seconds of CPU under xdist): only the handler's frame is left
            excinfo.traceback = excinfo.traceback[-1:]

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self) -> None:
        # the last hook of the run: pytest exits with the session's status, read after it; an
        # internal or usage error (a report missing results, a bad targets file) still says so
        session = self.session
        if self.state.sigterm.received and session is not None:
            if session.exitstatus not in KEPT_AFTER_SIGTERM:
                session.exitstatus = pytest.ExitCode.INTERRUPTED
        self.state.sigterm.restore()


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
    summary = config.stash[SUMMARY]
    if not summary.records:
        return
    if summary.inventory is None:  # the xdist controller collects nothing itself
        summary.inventory = inventory_of(config)
        summary.targets_path = str(config.stash[STATE].targets_path)
    print_progress(config)
    for line in summary.render():
        terminalreporter.write_line(line)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    state = config.stash.get(STATE, None)
    if state is None:
        return
    interrupted = exitstatus == pytest.ExitCode.INTERRUPTED or state.sigterm.received
    if interrupted:  # Ctrl-C too: what the probes still do is cut short, so the exit is quick
        stopping.stop()
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
    if alluredir and interrupted:
        allure_files.drop_partial(Path(alluredir))
    summary = config.stash[SUMMARY]
    unwritten: list[Exception] = []
    if summary.records:
        unwritten = _write_run_files(config, summary)
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        stats = reporter.stats if reporter is not None else {}
        session.exitstatus = summary.exit_status(
            config.getoption("harness_fail_on"),
            failures=len(stats.get("failed", [])) + len(stats.get("error", [])),
            status=int(session.exitstatus),
        )
        if state.sigterm.received:  # a SIGTERM as the session finished, after pytest's status
            session.exitstatus = pytest.ExitCode.INTERRUPTED
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED and state.shard == set():
        # the shard's hash gave it no target of this fleet: a finished run with nothing to do
        session.exitstatus = pytest.ExitCode.OK
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"harness: shard {config.getoption('harness_shard')} has no target")
    begun = config.stash.get(recording.BEGIN_ERROR, None)
    if write_error is None and begun is not None:
        write_error = allure_writer.AllureWriteError(str(begun))
    if write_error is None:  # results missing: the manifest stays "not finished"
        failed = recording.end(session, exitstatus)
        if failed is not None:
            write_error = allure_writer.AllureWriteError(
                f"the run manifest could not be written to {alluredir} ({failed}); consumers "
                "will read this run as not finished. Fix the folder, then rerun."
            )
    if (
        alluredir
        and write_error is None
        and (summary.records or recording.MANIFEST in config.stash)
    ):
        try:
            allure_files.write(
                Path(alluredir), state.targets_path, state.started, recording.status_of(config)
            )
        except OSError as exc:
            write_error = allure_writer.AllureWriteError(
                f"the run's Allure files could not be written to {alluredir} ({exc}); the "
                "report would lack its environment and categories. Fix the folder, then rerun."
            )
    if write_error is not None:
        _fail_loudly(session, write_error)
    for error in unwritten:
        _fail_loudly(session, error)


def _write_run_files(config: pytest.Config, summary: RunSummary) -> list[Exception]:
    """The summary JSON and the known-findings file, each written whole or not at all. A file
    that cannot be written (a full disk) is an error naming its path, never a traceback."""
    state = config.stash[STATE]
    writes: list[tuple[Path, Callable[[], None]]] = []
    out = config.getoption("harness_summary_json")
    if out:
        summary.targets_path = summary.targets_path or str(state.targets_path)
        text = json.dumps(summary.as_dict(), indent=2)
        writes.append((Path(out), lambda: atomic.write_text(Path(out), text)))
    known_path = state.known_path
    if known_path is not None:
        failing = {fid: (r.check, r.key) for r in summary.findings() for fid in r.finding_ids}
        findings = known.update(state.known, summary.judged(), failing, dt.date.today())
        writes.append((known_path, lambda: known.save(known_path, findings)))
    errors: list[Exception] = []
    for path, write in writes:
        try:
            write()
        except OSError as exc:
            errors.append(
                OSError(
                    f"{path} could not be written ({exc.strerror or exc}); any previous "
                    "file is left whole. Fix: free space or fix permissions there, then rerun"
                )
            )
    return errors


def _fail_loudly(session: pytest.Session, error: Exception) -> None:
    """A report missing results must not pass: say why, and exit as an internal error."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"harness: {error}", red=True, bold=True)
    else:
        print(f"harness: {error}", file=sys.stderr)
    session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
