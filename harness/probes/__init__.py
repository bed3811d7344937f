"""Probes measure; they never judge. One module per tool.

A probe receives every job of its kind for the run in one batch, so it can scan hosts
concurrently (one sslyze pass, batched nmap), and publishes one result per job key as soon as it
has it: a typed result, or a `ProbeFailure` saying why it could not measure.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Protocol

from harness.errors import ProbeFailure
from harness.inventory import Inventory, LoginEndpoint, Settings, Target, TlsEndpoint
from harness.inventory.models import SshEndpoint


@dataclass(frozen=True)
class Job:
    """One thing to probe: a target, or one endpoint of it, with its effective settings.

    `address` is set on the probe jobs of TLS, ports and banners, one job per address of the
    target's name (see probes.addresses); None means "connect to the name" (logins), or a name
    that did not resolve, which the probe then reports as such.
    """

    key: str
    target: Target
    endpoint: TlsEndpoint | LoginEndpoint | SshEndpoint | None
    settings: Settings
    address: str | None = None

    @property
    def host(self) -> str:
        """Where to connect: the address when there is one, else the name."""
        return self.address or self.target.host

    @property
    def where(self) -> str:
        """Human-readable location for messages: 'web-01 (www.example.com:443 at 192.0.2.7)'."""
        ep = self.endpoint
        at = f" at {self.address}" if self.address and self.address != self.target.host else ""
        if isinstance(ep, TlsEndpoint):
            return f"{self.target.name} ({self.target.host}:{ep.label}{at})"
        if isinstance(ep, LoginEndpoint):
            return f"{self.target.name} ({ep.label})"
        if isinstance(ep, SshEndpoint):
            return f"{self.target.name} ({self.target.host}:{ep.port}{at})"
        return f"{self.target.name} ({self.target.host}{at})"

    def at(self, address: str) -> Job:
        """This job, on one address of its target's name (a host that is an address keeps its
        key, so its results and evidence read as they always have)."""
        key = self.key if address == self.target.host else address_key(self.key, address)
        return dataclasses.replace(self, key=key, address=address)


def address_key(key: str, address: str) -> str:
    """The probe key of one address of a subject: 'web-01:443@192.0.2.7'."""
    return f"{key}@{address}"


@dataclass
class Evidence:
    """A file a probe attaches to its result (raw tool output, a transcript) for the report."""

    name: str
    body: str | bytes
    mime: str


@dataclass(frozen=True)
class Timing:
    """When a probe started work on one subject and when it published the result (epoch ms)."""

    start: int
    stop: int

    @property
    def seconds(self) -> float:
        return (self.stop - self.start) / 1000


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
