"""Port probe: an nmap connect scan per host, then version detection per open port.

nmap runs as our child, its output read with python-nmap (probes/nmap_scan.py). We build every
flag ourselves; the only things taken from targets.yaml are the validated host (resolved to an
IP address here) and the validated port spec. A host that timed out is a ProbeFailure, never
"no ports".

Version detection (-sV) runs per open port, so one port that swallows nmap's probes (a tarpit,
a chatty service) costs only its own identification, bounded by its own host timeout.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import shutil
import socket
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from harness.errors import FailureKind, ProbeFailure
from harness.inventory import Settings
from harness.inventory.values import check_host, check_port_scan
from harness.probes import Job, ProbeContext
from harness.probes.hostgate import GATE
from harness.probes.nmap_scan import (
    INSTALL_HINT,
    VERSION_INTENSITY,
    NmapError,
    parse_ports,
    run_nmap,
)
from harness.probes.ports_model import OpenPort, PortScan, UdpScan
from harness.probes.udp import scan_udp


@dataclass(frozen=True)
class Budget:
    """Bounds derived from the target's timeout (seconds for each network operation)."""

    host_timeout: float  # the connect scan of one host
    version_timeout: float  # -sV of one port
    max_retries: int

    @classmethod
    def of(cls, settings: Settings) -> Budget:
        t = settings.timeout
        return cls(
            host_timeout=min(3600.0, max(1.0, 30 * t)),
            version_timeout=min(120.0, max(15.0, 4 * t)),
            max_retries=min(3, max(1, int(t // 4))),
        )


def port_args(spec: str | int | list[int | str]) -> list[str]:
    """nmap's port selection for a validated ports.scan value."""
    spec = check_port_scan(spec)
    if spec == "all":
        return ["-p-"]
    top = re.fullmatch(r"top-(\d+)", spec)
    if top:
        return ["--top-ports", top.group(1)]
    return ["-p", spec]


def nmap_arguments(
    address: str, ports: list[str], budget: Budget, *, versions: bool = False
) -> list[str]:
    """Our flags for one scan of `address` (an IP address; anything else raises ValueError)."""
    ip = ipaddress.ip_address(address)
    args = ["-sT", "-Pn", "-n", "-T4", "--noninteractive"]
    args += ["--max-retries", str(budget.max_retries)]
    if versions:
        args += ["-sV", "--version-intensity", str(VERSION_INTENSITY)]
        args += ["--host-timeout", f"{budget.version_timeout:.0f}s"]
    else:
        args += ["--host-timeout", f"{int(budget.host_timeout * 1000)}ms"]
    if GATE.paced(address):  # a fragile host (hostgate.pace): one probe at a time, as TLS does
        args += ["--max-parallelism", "1"]
    if ip.version == 6:
        args.append("-6")
    return [*args, *ports]


def resolve(host: str) -> str:
    """The address to scan when the plan gave none: the host itself, or its first (IPv4-first)
    address."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    return str(infos[0][4][0])


class PortsProbe:
    name = "ports"

    def __init__(self, nmap: str | None = None) -> None:
        self._nmap = nmap

    def run(self, jobs: list[Job], ctx: ProbeContext) -> None:
        nmap = self._nmap or shutil.which("nmap")
        if nmap is None:
            for job in jobs:
                ctx.publish(
                    job.key,
                    ProbeFailure(
                        FailureKind.TOOL_MISSING,
                        job.where,
                        f"nmap is not installed or not on PATH. Fix: {INSTALL_HINT}",
                    ),
                )
            return
        workers = max(1, min(len(jobs), max(j.settings.max_concurrent_hosts for j in jobs)))
        ctx.progress(f"nmap connect scan of {len(jobs)} host(s), then -sV on open ports")
        with ThreadPoolExecutor(workers, thread_name_prefix="nmap") as hosts:
            futures = [hosts.submit(self._host, nmap, job, ctx) for job in jobs]
            for job, fut in zip(jobs, futures, strict=True):
                try:
                    fut.result()
                except Exception as exc:  # fail closed with a reason, never a pass
                    ctx.publish(
                        job.key,
                        ProbeFailure(FailureKind.ERROR, job.where, f"{type(exc).__name__}: {exc}"),
                    )

    def _host(self, nmap: str, job: Job, ctx: ProbeContext) -> None:
        ctx.begin(job.key)
        spec = check_port_scan(job.target.ports.scan if job.target.ports else "top-1000")
        budget = Budget.of(job.settings)
        started = time.monotonic()
        try:
            address = job.address or resolve(check_host(job.target.host))
        except ValueError as exc:  # validated by the inventory already; defence in depth
            ctx.publish(job.key, ProbeFailure(FailureKind.ERROR, job.where, str(exc)))
            return
        except (OSError, UnicodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            ctx.publish(
                job.key,
                ProbeFailure(
                    FailureKind.DNS, job.where, f"cannot resolve {job.target.host}: {reason}"
                ),
            )
            return
        with ThreadPoolExecutor(1, thread_name_prefix="nmap-udp") as udp_pool:
            udp = udp_pool.submit(self._udp, nmap, address, job, ctx)  # beside the TCP scan
            self._tcp(nmap, address, spec, budget, started, job, ctx, udp)

    def _udp(
        self, nmap: str, address: str, job: Job, ctx: ProbeContext
    ) -> UdpScan | ProbeFailure | None:
        spec = job.target.ports.udp if job.target.ports else "risky"
        if spec == "none":
            return None
        result = scan_udp(nmap, address, str(spec), job.settings, job.where)
        if isinstance(result, ProbeFailure):
            ctx.progress(f"{job.key}: UDP scan could not measure: {result.reason}")
        else:
            ctx.progress(
                f"{job.key}: UDP {result.ports} done in {result.elapsed:.1f} s: "
                f"{len(result.open_ports)} open, {len(result.open_filtered)} open|filtered"
            )
        return result

    def _tcp(
        self,
        nmap: str,
        address: str,
        spec: str,
        budget: Budget,
        started: float,
        job: Job,
        ctx: ProbeContext,
        udp: Future[UdpScan | ProbeFailure | None],
    ) -> None:
        args = nmap_arguments(address, port_args(spec), budget)
        try:
            # the connect scan touches each port once: one slot of the host's budget
            with GATE.hold(address, 1, job.settings.connections_per_host):
                xml, host = run_nmap(nmap, address, args, guard=budget.host_timeout + 30)
        except NmapError as exc:
            ctx.publish(job.key, ProbeFailure(exc.kind, job.where, exc.reason))
            return
        ctx.attach(job.key, f"nmap port scan of {job.key}", xml, "application/xml")
        if host.get("timedout") == "true":
            ctx.progress(f"{job.key}: timed out after {budget.host_timeout:.0f} s")
            ctx.publish(
                job.key,
                ProbeFailure(
                    FailureKind.TIMEOUT,
                    job.where,
                    f"nmap gave up on {address} after its host timeout of "
                    f"{budget.host_timeout:.0f} s (30 x the target's timeout of "
                    f"{job.settings.timeout:g} s) and reported no ports, so the open ports are "
                    "unknown. Fix: raise the target's timeout or scan fewer ports",
                ),
            )
            return
        open_ports, closed, filtered = parse_ports(host)
        ctx.progress(
            f"{job.key}: {len(open_ports)} open port(s) in {spec} "
            f"({time.monotonic() - started:.1f} s); identifying services"
        )
        # one nmap -sV per open port, at most connections_per_host of them against this host
        per_host = max(1, min(job.settings.connections_per_host, len(open_ports)))
        with ThreadPoolExecutor(per_host, thread_name_prefix="nmap-sV") as versions:
            identified = list(
                versions.map(
                    lambda p: self._version(nmap, address, p, budget, job.settings), open_ports
                )
            )
        ports = tuple(p for p, _ in identified)
        docs = [doc for _, doc in identified if doc]
        if docs:
            body = "<nmap-version-scans>\n" + "\n".join(docs) + "\n</nmap-version-scans>\n"
            ctx.attach(
                job.key,
                f"nmap version detection on {job.key}",
                body,
                "application/xml",
            )
        notes = tuple(
            f"port {p.port}/{p.protocol}: version detection {p.version_status} "
            f"(bounded at {budget.version_timeout:.0f} s)"
            for p in ports
            if p.version_status in ("timed out", "failed")
        )
        paced = GATE.paced(address)
        if paced is not None:
            notes += (f"version detection run one probe at a time: the host's TLS was {paced}",)
        elapsed = time.monotonic() - started
        named = sum(1 for p in ports if p.identified)
        ctx.progress(
            f"{job.key}: done in {elapsed:.1f} s, {named} of {len(ports)} service(s) identified"
        )
        ctx.publish(
            job.key,
            PortScan(
                job.target.host,
                address,
                spec,
                ports,
                closed,
                filtered,
                elapsed,
                notes,
                udp=udp.result(),
            ),
        )

    def _version(
        self, nmap: str, address: str, port: OpenPort, budget: Budget, settings: Settings
    ) -> tuple[OpenPort, str]:
        """-sV of one open port; on failure the port stays open with the table's guess."""
        args = nmap_arguments(address, ["-p", str(port.port)], budget, versions=True)
        try:
            with GATE.hold(address, 1, settings.connections_per_host):
                xml, host = run_nmap(nmap, address, args, guard=budget.version_timeout + 30)
        except NmapError:
            return _with_status(port, "failed"), ""
        body = re.sub(r"<\?xml[^>]*\?>|<!DOCTYPE[^>]*>|<\?xml-stylesheet[^>]*\?>", "", xml)
        if host.get("timedout") == "true":
            return _with_status(port, "timed out"), body.strip()
        found, _, _ = parse_ports(host)
        match = next((p for p in found if p.port == port.port), None)
        if match is None:  # closed between the two scans
            return _with_status(port, "failed"), ""
        if not match.identified:
            match = _with_status(match, "unrecognised")
        return match, body.strip()


def _with_status(port: OpenPort, status: str) -> OpenPort:
    return dataclasses.replace(port, version_status=status)
