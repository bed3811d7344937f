"""Banner probe: what services say about themselves, read directly and from nmap -sV.

Direct grabs, each bounded by the target's timeout and a read limit: HTTP(S) response headers
from the declared `http` endpoints and from open HTTP ports, the SSH identification string, and
FTP, SMTP, POP3 and IMAP greetings. nmap's -sV products, versions and CPEs come from the ports
probe's result for the same target. The probe records; banner policy decides what is disclosed.
The reading of one banner lives in banners_grab.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from urllib.parse import urlsplit

from harness.errors import FailureKind, ProbeFailure
from harness.probes import Job, ProbeContext, publish_each
from harness.probes.banners_grab import Grab, GrabError, safe_grab
from harness.probes.banners_model import Banner, BannerScan, Source
from harness.probes.hostgate import GATE
from harness.probes.ports_model import OpenPort, PortScan

_GREETING_SERVICES = {
    "ftp": "FTP",
    "ftps": "FTP",
    "smtp": "SMTP",
    "smtps": "SMTP",
    "submission": "SMTP",
    "pop3": "POP3",
    "pop3s": "POP3",
    "imap": "IMAP",
    "imaps": "IMAP",
}
_IMPLICIT_TLS = ("ftps", "smtps", "pop3s", "imaps")


def plan(job: Job, scan: PortScan | None) -> list[Grab]:
    """Declared http endpoints first, then every open port whose service we know how to read."""
    grabs: list[Grab] = []
    seen: set[tuple[str, int]] = set()
    for endpoint in job.target.http:
        parts = urlsplit(endpoint.url)
        host = parts.hostname or job.target.host
        port = parts.port or (443 if parts.scheme == "https" else 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        # a URL on the target's own name is read on this job's address, with the name as Host/SNI
        address = job.host if host == job.target.host else host
        where = endpoint.url if address == host else f"{endpoint.url} at {address}"
        grabs.append(Grab("http", address, port, parts.scheme == "https", where, host, path, True))
        seen.add((host, port))
    if scan is None:
        return grabs
    declared_ports = {n for h, n in seen if h in (job.target.host, scan.address)}
    for p in scan.open_ports:
        kind = _kind(p)
        if kind is None or (kind == "http" and p.port in declared_ports):
            continue
        tls = p.tunnel == "ssl" or p.service in ("https", "https-alt", *_IMPLICIT_TLS)
        where = _port_where(p, kind, tls)
        grabs.append(Grab(kind, scan.address, p.port, tls, where, job.target.host))
    return grabs


def _kind(p: OpenPort) -> str | None:
    if p.version_status == "unrecognised" and not p.tunnel:
        return "service"
    if p.service == "ssh":
        return "SSH"
    if p.service.startswith("http"):
        return "http"
    return _GREETING_SERVICES.get(p.service)


def _port_where(p: OpenPort, kind: str, tls: bool) -> str:
    if kind == "http":
        return f"{'https' if tls else 'http'} on port {p.port}/{p.protocol}"
    return f"port {p.port}/{p.protocol}"


def nmap_banners(scan: PortScan) -> list[Banner]:
    return [
        Banner(
            "nmap -sV",
            f"port {p.port}/{p.protocol}",
            " ".join(x for x in (p.product, p.version, p.extrainfo) if x),
            p.port,
            p.product,
            p.version,
            p.extrainfo,
            p.cpes,
        )
        for p in scan.open_ports
        if p.identified and (p.product or p.cpes)
    ]


def nmap_sources(scan: PortScan) -> list[Source]:
    """nmap -sV of each open port as a source: it answered when nmap got bytes back (a match,
    or a fingerprint of data it could not name); tcpwrapped is a close without a word."""
    sources = []
    for p in scan.open_ports:
        answered = p.version_status in ("identified", "unrecognised") and p.service != "tcpwrapped"
        outcome = {
            "identified": f"identified {p.describe()}",
            "unrecognised": "answered, not recognised",
            "timed out": "version detection timed out",
            "failed": "version detection failed",
        }.get(p.version_status, "no answer to any probe")
        if p.service == "tcpwrapped":
            outcome = "closed the connection without a word (tcpwrapped)"
        kind = None
        if not answered:
            kind = FailureKind.ERROR if p.version_status == "failed" else FailureKind.TIMEOUT
        sources.append(Source(f"nmap -sV of port {p.port}/{p.protocol}", answered, outcome, kind))
    return sources


class BannersProbe:
    name = "banners"

    def run(self, jobs: list[Job], ctx: ProbeContext) -> None:
        ctx.progress(f"reading banners of {len(jobs)} target(s)")
        publish_each(jobs, ctx, lambda job: self._job(job, ctx), "banners")

    def _job(self, job: Job, ctx: ProbeContext) -> BannerScan | ProbeFailure:
        scan: PortScan | None = None
        if job.target.ports is not None:
            result = ctx.result_of("ports", job.key)
            if isinstance(result, ProbeFailure):
                return ProbeFailure(
                    result.kind,
                    job.where,
                    f"the port scan failed, so open ports and their versions are unknown: "
                    f"{result.reason}",
                )
            scan = result
        ctx.begin(job.key)  # after the wait for nmap: the banner step shows its own time
        grabs = plan(job, scan)
        banners: list[Banner] = []
        examined: list[str] = []
        notes: list[str] = list(scan.notes) if scan else []
        timeout = job.settings.timeout
        per_host = max(1, min(job.settings.connections_per_host, len(grabs)))
        budget = job.settings.connections_per_host

        def gated(g: Grab) -> tuple[list[Banner], bool] | GrabError:
            with GATE.hold(g.address, 1, budget):  # one slot of the host's shared budget
                return safe_grab(g, timeout)

        with ThreadPoolExecutor(per_host, thread_name_prefix="grab") as pool:
            outcomes = list(pool.map(gated, grabs))
        sources: list[Source] = []
        for g, outcome in zip(grabs, outcomes, strict=True):
            name = f"{g.where} ({'HTTP headers' if g.kind == 'http' else g.kind})"
            if isinstance(outcome, GrabError):
                if g.declared:  # a declared endpoint we could not read: could not measure
                    return ProbeFailure(outcome.kind, job.where, outcome.reason)
                why = outcome.reason.partition(": ")[2]
                notes.append(f"could not read {g.where}: {why}")
                sources.append(Source(name, outcome.answered, why, outcome.kind))
                continue
            found, answered = outcome
            examined.append(name)
            banners.extend(found)
            said = f"{len(found)} banner(s)" if answered else "said nothing"
            sources.append(Source(name, answered, said))
        if scan is not None and scan.open_ports:
            banners.extend(nmap_banners(scan))
            examined.append(f"nmap -sV of {len(scan.open_ports)} open port(s)")
            sources.extend(nmap_sources(scan))
        result_scan = BannerScan(
            job.target.host,
            tuple(banners),
            tuple(examined),
            tuple(notes),
            tuple(sources),
            job.where,
        )
        ctx.attach(
            job.key,
            f"banners of {job.key}",
            json.dumps(asdict(result_scan), indent=2),
            "application/json",
        )
        ctx.progress(f"{job.key}: {len(banners)} banner(s) from {len(examined)} source(s)")
        return result_scan
