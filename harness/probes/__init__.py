"""Probes measure; they never judge. One module per tool.

A probe receives every job of its kind for the run in one batch, so it can scan hosts
concurrently (one sslyze pass, batched nmap), and publishes one result per job key as soon as it
has it: a typed result, or a `ProbeFailure` saying why it could not measure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Protocol

from harness.errors import FailureKind, ProbeFailure
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


def publish_each(
    jobs: list[Job], ctx: ProbeContext, measure: Callable[[Job], Any], name: str
) -> None:
    """Measure every job, as many hosts at once as the settings allow, and publish each result
    as it finishes, so a silent host never holds back the others. An exception is published as
    a ProbeFailure with its reason: fail closed, never a pass."""
    workers = max(1, min(len(jobs), max(j.settings.max_concurrent_hosts for j in jobs)))
    with ThreadPoolExecutor(workers, thread_name_prefix=name) as pool:
        futures = {pool.submit(measure, job): job for job in jobs}
        for fut in as_completed(futures):
            job = futures[fut]
            try:
                result = fut.result()
            except Exception as exc:
                result = ProbeFailure(FailureKind.ERROR, job.where, f"{type(exc).__name__}: {exc}")
            ctx.publish(job.key, result)
