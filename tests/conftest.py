"""Isolation between the tests that drive probes in this process: a host paced by one test
(harness.probes.hostgate) must not slow the next one down.

Under pytest-xdist (`make test` runs `-n 6 --dist loadgroup`), tests that share something run
in one worker, one after the other:
- a module-scoped fixture (a run of the suites, a fleet of servers) is built once per worker
  that runs a test of the module: four workers built test_hostile_targets' 13 runs four times.
  Such modules form one group, except those in SPREAD, whose fixture is cheap next to tests
  that are each long; those tests spread over the workers, each worker building its own.
- SHARED: modules that share a fixed address, port or folder with another module (the demo lab
  on 127.0.0.11-12 and reports/lab) form one group across modules.
xdist hands out groups first (largest first), then single tests in collection order; the single
tests of LONG modules (20-100 s each) come first among those, so none of them starts last and
runs on alone while the other workers are idle.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from harness.probes import stopping
from harness.probes.hostgate import GATE

# module -> group, for modules that share something fixed with another module
SHARED = {"test_demo_lab": "demo-lab", "test_ci_template_run": "demo-lab"}
# modules whose module-scoped fixture is cheap next to each test: built in each worker instead
SPREAD = {"test_fragile_server"}
# modules of long single tests, handed out before the short ones
LONG = {"test_fragile_server", "test_fleet_scale", "test_run_manifest", "test_report_offline"}


def _module_scoped(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(
        d.scope in ("module", "package", "class")
        for defs in info.name2fixturedefs.values()
        for d in defs
    )


def _module(item: pytest.Item) -> str:
    return item.module.__name__ if isinstance(item, pytest.Function) else ""


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("xdist_group") is not None:
            continue
        module = _module(item)
        if module in SHARED:
            item.add_marker(pytest.mark.xdist_group(SHARED[module]))
        elif module not in SPREAD and _module_scoped(item):
            item.add_marker(pytest.mark.xdist_group(module))
    if hasattr(config, "workerinput"):  # an xdist worker: every worker sorts alike
        items.sort(key=lambda item: _module(item) not in LONG)  # stable: order kept otherwise


@pytest.fixture(autouse=True, scope="session")
def _children_without_hypothesis() -> Iterator[None]:
    """The pytest runs that tests start (`pytest suites/` and the like) go without hypothesis's
    plugin: a dependency of these tests, not of the harness, which imports hypothesis in every
    run's terminal summary (0.7 s of CPU per run on this machine). This run keeps it: the
    variable is set once its own options are read. Pytester's runs drop the variable anyway."""
    given = os.environ.get("PYTEST_ADDOPTS")
    os.environ["PYTEST_ADDOPTS"] = f"{given or ''} -p no:hypothesispytest".strip()
    yield
    if given is None:
        del os.environ["PYTEST_ADDOPTS"]
    else:
        os.environ["PYTEST_ADDOPTS"] = given


@pytest.fixture(autouse=True, scope="session")
def _children_keep_their_own_temp(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[None]:
    """The pytest runs that tests start keep their temporary folders under this run's: a
    child that makes one (an xdist controller always does) prunes the old numbered folders of
    its root at exit, and in the shared /tmp/pytest-of-<user> those are this run's own (10,000
    result fleets among them): 18 s of deleting after a SIGTERM test's signal, once."""
    given = os.environ.get("PYTEST_DEBUG_TEMPROOT")
    os.environ["PYTEST_DEBUG_TEMPROOT"] = str(tmp_path_factory.mktemp("children"))
    yield
    if given is None:
        del os.environ["PYTEST_DEBUG_TEMPROOT"]
    else:
        os.environ["PYTEST_DEBUG_TEMPROOT"] = given


@pytest.fixture(autouse=True)
def _no_pace_carried_over() -> Iterator[None]:
    GATE.unpace_all()
    yield
    GATE.unpace_all()


@pytest.fixture(autouse=True)
def _no_stop_carried_over() -> None:
    """A test that stopped a harness run in this process (Ctrl-C, SIGTERM) leaves the probe
    threads refused until a new run is armed, as a real process would; the tests that call
    probes directly start afresh, as a new run does."""
    if stopping.STOPPING.is_set():
        stopping.arm()
        stopping.disarm()
