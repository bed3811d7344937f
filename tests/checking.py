"""Check decisions called from tests through the registry: `decide(id, measurement, settings)`
runs the definition of check `id` on a subject with those settings, as the generated suite
test does on a real subject."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from harness.areas import define_checks
from harness.checks import DEFINITIONS
from harness.errors import CouldNotMeasure, ProbeFailure
from harness.inventory import PortsSpec, Settings
from harness.outcome import Verdict
from harness.probes.logins.model import Channel, LoginResult


@dataclass(frozen=True)
class At:
    """A subject as a decision reads it (harness.subject.Subject)."""

    settings: Settings = field(default_factory=Settings)
    where: str = "t"
    key: str = "t"
    target: Any = field(default_factory=lambda: SimpleNamespace(name="t", ports=None))
    endpoint: Any = None


def at(
    settings: Settings | None = None,
    *,
    ports: PortsSpec | None = None,
    endpoint: Any = None,
    where: str = "t",
) -> At:
    target = SimpleNamespace(name="t", host="127.0.0.1", ports=ports)
    return At(settings or Settings(), where, where, target, endpoint)


def decide(
    check_id: str, measurement: Any, settings: Settings | None = None, *more: Any
) -> Verdict:
    define_checks()
    verdict: Verdict = DEFINITIONS[check_id].decide(measurement, at(settings), *more)
    return verdict


def outcome(decision: Any, measurement: Any, subject: Any = None) -> Verdict | ProbeFailure:
    """A decision's verdict, or the ProbeFailure it raised (could not measure: broken)."""
    try:
        verdict: Verdict = decision(measurement, subject or at())
    except CouldNotMeasure as exc:
        return exc.failure
    return verdict


def login_result(guesses: Any) -> LoginResult:
    """A login result around measured guesses (the other parts not asked for)."""
    channel = Channel(True, "HTTPS")
    return LoginResult("http-basic", "t", channel, guesses, None, None, None, 0, 0)
