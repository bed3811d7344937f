"""What the plugin's modules share during a run: the run state and the stash keys, kept in
`config.stash` and `item.stash` (pytest's typed store), never in module globals."""

from __future__ import annotations

import datetime as dt
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness import credentials, known
from harness.checks import Check, get_check
from harness.errors import InventoryError, ProbeFailure
from harness.inventory import Inventory, load
from harness.output import allure_results
from harness.output.result_page import Judged
from harness.probes import Job
from harness.probes.addresses import Addresses
from harness.session.interrupts import SigtermAsInterrupt
from harness.session.runner import ProbeRunner
from harness.session.summary import RunSummary


@dataclass
class State:
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
    # the evidence files a subject's first result wrote, by (probe, subject key): its later
    # results refer to them (the bodies are not kept in memory)
    evidence_files: dict[tuple[str, str], list[Any]] = field(default_factory=dict)


STATE = pytest.StashKey[State]()
SUMMARY = pytest.StashKey[RunSummary]()
JOB = pytest.StashKey[Job]()
CHECK = pytest.StashKey[Check]()


@dataclass(frozen=True)
class Measured:
    """A subject's measurement on each address of its name (see harness.session.per_address)."""

    measured: dict[str, Any]
    unmeasured: dict[str, ProbeFailure]
    named: bool  # the host is a name, so results name the address they came from
    notes: tuple[str, ...] = ()


MEASURED = pytest.StashKey[Measured]()
NOTES = pytest.StashKey[tuple[str, ...]]()  # notes the measurement adds to every verdict
PAGE = pytest.StashKey[Judged]()  # what the judgement saw, for the result's page


def inventory_of(config: pytest.Config) -> Inventory | None:
    """The run's inventory, loaded once; a defect is kept for collection to report."""
    state = config.stash[STATE]
    if state.inventory is None and state.error is None:
        try:
            state.inventory = load(state.targets_path)
            credentials.register_declared(state.inventory)
        except InventoryError as exc:
            state.error = exc
    return state.inventory


def check_of(definition: Any) -> Check:
    marker = definition.get_closest_marker("check")
    if marker is None or not marker.args:
        raise pytest.UsageError(f"{definition.nodeid}: a suite test needs @pytest.mark.check(ID)")
    return get_check(marker.args[0])


def print_progress(config: pytest.Config) -> None:
    runner = config.stash[STATE].runner
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
