"""Collection: one test per subject (parametrized by target), shards, the subject-by-subject
order, and the probe plan built from the tests that were selected."""

from __future__ import annotations

import gc

import pytest

from harness.areas import Area, prewarm
from harness.output import allure_results
from harness.probes import Job
from harness.probes.addresses import resolve_all
from harness.probes.hostgate import GATE
from harness.session import discovery, shard
from harness.session.runner import ProbeRunner
from harness.session.state import CHECK, JOB, STATE, SUMMARY, check_of, inventory_of
from harness.session.subjects import AREAS, per_address_jobs, probe_jobs, subjects


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "subject" not in metafunc.fixturenames:
        return
    check = check_of(metafunc.definition)
    inv = inventory_of(metafunc.config)
    jobs = subjects(inv, check.area) if inv is not None else []
    jobs += discovery.subjects(metafunc.config, check.area)  # after the declared, in file order
    mine = _shard_targets(metafunc.config)
    if mine is not None and jobs:
        # other shards' tests are never made: collecting a fleet's 38,000 tests to deselect
        # 33,000 of them took a shard about 80 s
        jobs = [j for j in jobs if j.target.name in mine]
    if not jobs and inv is not None:
        # no subject here (no target declares one, or none is in this shard): no result,
        # rather than pytest's "test_x[NOTSET] skipped: got empty parameter set"
        metafunc.config.stash[STATE].emptied.add(metafunc.definition.nodeid)
    if jobs and not metafunc.config.option.collectonly:
        for probe in AREAS[check.area].probes:
            prewarm(probe)
    metafunc.parametrize("subject", jobs, ids=[j.key for j in jobs])


@pytest.hookimpl(tryfirst=True)  # before -k/-m deselection, which reads the keywords set here
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    state = config.stash[STATE]
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
        check = check_of(item)
        item.stash[JOB] = job
        item.stash[CHECK] = check
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
    check waiting for every endpoint. A check that reads every subject of its area (the
    `tls_run` fixture: DROWN across endpoints) waits for all of them, so those run after the
    rest. Other tests keep their place relative to each other."""
    rank: dict[int, tuple[bool, int, int]] = {}
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        if JOB in item.stash:
            key = item.stash[JOB].key
            across = "tls_run" in getattr(item, "fixturenames", ())
            rank[index] = (across, first.setdefault(key, index), index)
    if not rank:
        return
    slots = sorted(rank)
    ordered = sorted(slots, key=lambda i: rank[i])
    moved = [items[i] for i in ordered]
    for slot, item in zip(slots, moved, strict=True):
        items[slot] = item


def _shard_targets(config: pytest.Config) -> set[str] | None:
    state = config.stash[STATE]
    spec = config.getoption("harness_shard")
    if not spec or state.inventory is None:
        return None
    if state.shard is None:
        state.shard = shard.targets_of(state.inventory, spec)  # spec checked at configure
    return state.shard


def _apply_shard(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Drop the placeholder of a suite test without subjects (none declared, or none in this
    shard): pytest would report it as skipped for an empty parameter set."""
    emptied = config.stash[STATE].emptied
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
    state = session.config.stash[STATE]
    inv = state.inventory
    if inv is None:
        return
    state.sigterm.install()  # from here on the run contacts targets (names are resolved below)
    wanted: dict[str, set[str]] = {}
    for item in session.items:
        if JOB in item.stash:
            wanted.setdefault(item.stash[CHECK].area, set()).add(item.stash[JOB].key)
    chosen = {
        (area, probe): probe_jobs(inv, area, probe, keys, discovery.subjects(session.config, area))
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
    GATE.unpace_all()  # the pace a fragile host needed is learnt again in each run
    state.runner = ProbeRunner(
        inv,
        {p: list(jobs.values()) for p, jobs in plan.items()},
        per_target=hasattr(session.config, "workerinput"),
    )
    discovery.provide(session.config, state.runner)  # its port scans: not scanned again
    session.config.hook.pytest_harness_runner(runner=state.runner)
    summary = session.config.stash[SUMMARY]
    summary.inventory = inv
    summary.targets_path = str(state.targets_path)
    allure_results.slim_fixture_containers()
    # Everything imported and collected so far lives until the end: keep it out of the
    # cyclic garbage collector, which otherwise walks it on every full collection during the
    # run and five times more at pytest's exit (about 120,000 objects with sslyze loaded).
    gc.freeze()
    if not session.config.option.collectonly and not state.runner.per_target:
        state.runner.start()  # probe while pytest finishes setting up; results wait in futures
