"""The logins probe's entry: every login endpoint of a run, grouped by service.

Endpoints on different host:port pairs are probed concurrently (bounded by
max_concurrent_hosts); endpoints sharing one are probed one after another, because they may
share accounts, and every attempt against one endpoint waits for the one before it.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import socket
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from harness.errors import FailureKind, ProbeFailure
from harness.inventory import LoginEndpoint
from harness.probes import Job, ProbeContext
from harness.probes.hostgate import GATE
from harness.probes.logins.engine import probe_endpoint
from harness.probes.logins.model import LoginResult


def _service(job: Job) -> tuple[str, int]:
    ep = job.endpoint
    assert isinstance(ep, LoginEndpoint)
    if ep.url:
        parts = urlsplit(ep.url)
        return (
            parts.hostname or job.target.host,
            parts.port or (443 if parts.scheme == "https" else 80),
        )
    return (job.target.host, ep.port or {"ssh": 22, "ftp": 21, "snmp": 161}.get(ep.kind, 0))


def answering_address(host: str, port: int, timeout: float, udp: bool = False) -> str:
    """The address a client connecting to `host` reaches: logins stay on the name, as a client
    would, and the report says which address answered. Tried in getaddrinfo's order, the first
    that accepts, as every client library here connects ("" when none did). Over UDP (snmp)
    nothing accepts: the address is the one the SNMP client sends to (IPv4 first), and a
    measured result means it answered there."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if udp:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
        except (OSError, UnicodeError):
            return ""
        infos.sort(key=lambda i: i[0] != socket.AF_INET)
        return str(infos[0][4][0]) if infos else ""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            return str(sock.getpeername()[0])
    except OSError:
        return ""


class LoginsProbe:
    name = "logins"

    def run(self, jobs: list[Job], ctx: ProbeContext) -> None:
        if not jobs:
            return
        base_dir = ctx.inventory.path.parent if ctx.inventory.path else None
        groups: dict[tuple[str, int], list[Job]] = {}
        for job in jobs:
            groups.setdefault(_service(job), []).append(job)
        ctx.progress(f"probing {len(jobs)} login endpoints on {len(groups)} services")

        def run_group(service: tuple[str, int], group: list[Job]) -> None:
            # attempts are sequential: one slot of the host's budget shared with other probes
            with GATE.hold(service[0], 1, group[0].settings.connections_per_host):
                ep = group[0].endpoint
                udp = isinstance(ep, LoginEndpoint) and ep.kind == "snmp"
                address = answering_address(*service, group[0].settings.timeout, udp=udp)
                for job in group:
                    probe_one(job, address)

        def probe_one(job: Job, address: str) -> None:
            ctx.begin(job.key)
            try:
                result, log = probe_endpoint(job, base_dir)
                if isinstance(result, LoginResult):
                    result = dataclasses.replace(result, address=address)
            except Exception as exc:  # fail closed, and never echo a message that may hold a secret
                result, log = (
                    ProbeFailure(
                        FailureKind.ERROR,
                        job.where,
                        f"the login probe crashed ({type(exc).__name__})",
                    ),
                    "",
                )
            if log:
                ctx.attach(job.key, "login attempts", log, "text/plain")
            ctx.publish(job.key, result)
            if isinstance(result, LoginResult):
                ctx.progress(f"{job.key}: done, {result.attempts} of {result.budget} attempts")
                stopped = getattr(result.guesses, "stopped", None) or ""
                if "signalled lockout" in stopped:
                    ctx.progress(f"{job.key}: {stopped}")
            else:
                ctx.progress(f"{job.key}: could not measure ({result.kind})")

        workers = max(1, min(len(groups), jobs[0].settings.max_concurrent_hosts))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="logins") as pool:
            for future in [pool.submit(run_group, svc, g) for svc, g in groups.items()]:
                future.result()
