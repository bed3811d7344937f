"""Isolation between the tests that drive probes in this process: a host paced by one test
(harness.probes.hostgate) must not slow the next one down."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.probes.hostgate import GATE


@pytest.fixture(autouse=True)
def _no_pace_carried_over() -> Iterator[None]:
    GATE.unpace_all()
    yield
    GATE.unpace_all()
