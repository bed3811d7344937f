"""Hooks that keep the run manifest (the work is in harness.session.recording): begun when
the run's subjects are known, ended by the plugin's session finish. Under pytest-xdist the
controller collects nothing: the workers' subjects arrive as their collected test ids."""

from __future__ import annotations

from typing import Any

import pytest

from harness.session import recording
from harness.session.state import JOB, STATE, inventory_of


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("harness").addoption(
        "--append",
        dest="harness_append",
        action="store_true",
        help="add this run to a results folder that already holds another run's results "
        "(without it, such a folder is refused; --clean-alluredir empties it instead)",
    )


def _distributed(config: pytest.Config) -> bool:
    return bool(getattr(config.option, "numprocesses", None)) and not hasattr(config, "workerinput")


def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    if _distributed(config) and inventory_of(config) is not None:
        recording.begin(
            config, []
        )  # the controller collects nothing: subjects come from the workers


def pytest_collection_finish(session: pytest.Session) -> None:
    config = session.config
    if hasattr(config, "workerinput") or config.option.collectonly:
        return
    keys = [item.stash[JOB].key for item in session.items if JOB in item.stash]
    if keys or config.stash[STATE].shard == set():  # an empty shard still says it ran
        recording.begin(config, keys)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    config = node.config
    record = config.stash.get(recording.MANIFEST, None)
    state = config.stash[STATE]
    if record is None or state.inventory is None:
        return
    known_keys = recording.subject_map(state)
    found = {i.rpartition("[")[2].rstrip("]") for i in ids if i.endswith("]")}
    new = sorted((found & known_keys.keys()) - set(record.expected))
    if new:
        record.expected.extend(new)
        recording.describe(state, record)
        try:
            recording.write(config, record)
        except OSError:
            pass  # the end's write says it, failing the run
