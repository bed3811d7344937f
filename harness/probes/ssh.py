"""SSH transport probe: what an SSH server offers before any key is agreed, as ssh-audit reads it.

Per endpoint, one connection at a time, each through the host's connection budget:
  1. the version line and KEXINIT (key exchange, host key, cipher, MAC, compression lists);
  2. one key exchange per host key type offered, whose reply carries the key (type and size);
  3. when a Diffie-Hellman group exchange is offered, a request for a 1024-bit group.
No login is attempted and no credential is sent. The probe records; ssh policy judges.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import TypeVar

from harness.errors import FailureKind, ProbeFailure
from harness.inventory.models import SshEndpoint
from harness.probes import Job, ProbeContext, publish_each
from harness.probes.hostgate import GATE
from harness.probes.ssh_model import HostKey, SshScan
from harness.probes.ssh_session import Session, SessionError

_T = TypeVar("_T")
_RSA = ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")


def key_families(algorithms: tuple[str, ...]) -> tuple[dict[str, str], list[str]]:
    """The host key algorithm to ask for per key the server may hold (one RSA key serves all
    three RSA algorithms), in server order; and what is not read (certificates, security keys)."""
    families: dict[str, str] = {}
    skipped: list[str] = []
    for alg in algorithms:
        if alg in _RSA:
            families.setdefault("rsa", alg)
        elif alg in ("ssh-dss", "ssh-ed25519", "ssh-ed448") or alg.startswith("ecdsa-sha2-nistp"):
            families.setdefault(alg, alg)
        else:
            skipped.append(alg)
    return families, skipped


def measure(host: str, port: int, where: str, timeout: float, budget: int) -> SshScan:
    """Every connection of one endpoint; raises SessionError when the first one fails."""
    started = time.monotonic()

    def connected(step: Callable[[Session], _T]) -> _T:
        with GATE.hold(host, 1, budget), Session(host, port, timeout) as session:
            return step(session)

    first = connected(lambda s: (s.version, s.kexinit))
    version, k = first
    assert version is not None and k is not None
    families, skipped = key_families(k.host_key)
    keys: list[HostKey] = []
    unread: list[str] = []
    notes = [f"not read (certificate or security-key algorithm): {a}" for a in skipped]
    stalled = ""  # a server that leaves one key exchange unanswered is not asked again, so a
    # stalling server costs two timeouts, not one per host key type
    for alg in families.values():
        if stalled:
            unread.append(f"{alg}: not tried, {stalled}")
            continue
        try:
            blob = connected(lambda s, a=alg: s.host_key(a))  # type: ignore[misc]
        except SessionError as exc:
            unread.append(f"{alg}: {exc.reason}")
            if exc.kind == FailureKind.TIMEOUT:
                stalled = f"the server left the key exchange for {alg} unanswered"
            continue
        keys.append(HostKey(alg, blob.key_type, blob.bits))
    gex = next((x for x in k.kex if x.startswith("diffie-hellman-group-exchange-")), None)
    small_bits: int | None = None
    refused: bool | None = None
    if gex is not None and stalled:
        notes.append(f"{gex} was not asked for a small group: {stalled}")
    elif gex is not None:
        try:
            small_bits = connected(lambda s: s.small_group(gex))
            refused = small_bits is None
        except SessionError as exc:
            notes.append(f"could not ask {gex} for a small group: {exc.reason}")
    return SshScan(
        host=host,
        port=port,
        where=where,
        version=version.line,
        kex=k.kex,
        host_key_algorithms=k.host_key,
        ciphers=_merged(k.ciphers_s2c, k.ciphers_c2s),
        macs=_merged(k.macs_s2c, k.macs_c2s),
        compression=_merged(k.compression_s2c, k.compression_c2s),
        host_keys=tuple(keys),
        unread=tuple(unread),
        gex_small_group_bits=small_bits,
        gex_refused_small=refused,
        notes=tuple(notes),
        seconds=round(time.monotonic() - started, 3),
    )


def _merged(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    """Both directions in one list (they are almost always equal), server order kept."""
    return first + tuple(x for x in second if x not in first)


class SshProbe:
    name = "ssh"

    def run(self, jobs: list[Job], ctx: ProbeContext) -> None:
        ctx.progress(f"reading SSH algorithms of {len(jobs)} endpoint(s)")
        publish_each(jobs, ctx, lambda job: self._job(job, ctx), "ssh")

    def _job(self, job: Job, ctx: ProbeContext) -> SshScan | ProbeFailure:
        ctx.begin(job.key)
        ep = job.endpoint
        assert isinstance(ep, SshEndpoint)
        s = job.settings
        try:
            scan = measure(job.host, ep.port, job.where, s.timeout, s.connections_per_host)
        except SessionError as exc:
            return ProbeFailure(exc.kind, job.where, _advice(exc))
        ctx.attach(
            job.key,
            f"ssh algorithms of {job.key}",
            json.dumps(asdict(scan), indent=2),
            "application/json",
        )
        ctx.progress(f"{job.key}: {scan.version} ({scan.seconds:.2f} s)")
        return scan


def _advice(exc: SessionError) -> str:
    """The reason, with what to do about it."""
    if exc.kind == FailureKind.REFUSED:
        return f"{exc.reason}. Fix: check that sshd listens on this port, or remove the endpoint"
    if exc.kind == FailureKind.TIMEOUT:
        return (
            f"{exc.reason}. Fix: make sure the SSH server answers a client from this machine "
            "(a firewall that drops, a tarpit or an overloaded host looks like this), or raise "
            "the target's timeout"
        )
    return f"{exc.reason}. Fix: point the ssh endpoint at an SSH server's port"
