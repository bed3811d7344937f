"""Hooks the harness offers other pytest plugins (registered by the plugin's pytest_addhooks)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from harness.session.runner import ProbeRunner


@pytest.hookspec
def pytest_harness_runner(runner: ProbeRunner) -> None:
    """The run's probe runner is built and has not started: add observers here
    (`runner.add_observer`) to see every event of the run."""
