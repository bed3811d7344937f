"""Probes measure; they never judge. One module per tool.

A probe receives every job of its kind for the run in one batch, so it can scan hosts
concurrently (one sslyze pass, batched nmap), and publishes one result per job key as soon as it
has it: a typed result, or a `ProbeFailure` saying why it could not measure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from harness.errors import ProbeFailure
from harness.inventory import Inventory, LoginEndpoint, Settings, Target, TlsEndpoint


@dataclass(frozen=True)
class Job:
    """One thing to probe: a target, or one endpoint of it, with its effective settings."""

    key: str
    target: Target
    endpoint: TlsEndpoint | LoginEndpoint | None
    settings: Settings

    @property
    def where(self) -> str:
        """Human-readable location for messages: 'web-01 (www.example.com:443)'."""
        ep = self.endpoint
        if isinstance(ep, TlsEndpoint):
            return f"{self.target.name} ({self.target.host}:{ep.label})"
        if isinstance(ep, LoginEndpoint):
            return f"{self.target.name} ({ep.label})"
        return f"{self.target.name} ({self.target.host})"


class ProbeContext(Protocol):
    inventory: Inventory

    def begin(self, key: str) -> None: ...

    def publish(self, key: str, result: Any | ProbeFailure) -> None: ...

    def progress(self, message: str) -> None: ...

    def result_of(self, probe: str, key: str) -> Any | ProbeFailure: ...

    def attach(self, key: str, name: str, body: str | bytes, mime: str) -> None: ...


class Probe(Protocol):
    """A probe kind. `run` must publish a result or a ProbeFailure for every job it is given."""

    name: str

    def run(self, jobs: list[Job], ctx: ProbeContext) -> None: ...


ProbeFactory = Callable[[], Probe]
_REGISTRY: dict[str, str] = {
    # probe name -> "module:factory"; imported lazily so a missing tool only breaks its own area
    "tls": "harness.probes.tls:TlsProbe",
    "ports": "harness.probes.ports:PortsProbe",
    "banners": "harness.probes.banners:BannersProbe",
    "logins": "harness.probes.logins:LoginsProbe",
}


def load_probe(name: str) -> Probe:
    import importlib

    module_name, _, attr = _REGISTRY[name].partition(":")
    module = importlib.import_module(module_name)
    factory: ProbeFactory = getattr(module, attr)
    return factory()
