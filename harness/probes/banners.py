"""Banner probe: what services say about themselves, read directly and from nmap -sV.

Direct grabs, each bounded by the target's timeout and a read limit: HTTP(S) response headers
from the declared `http` endpoints and from open HTTP ports, the SSH identification string, and
FTP, SMTP, POP3 and IMAP greetings. nmap's -sV products, versions and CPEs come from the ports
probe's result for the same target. The probe records; banner policy decides what is disclosed.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from harness.errors import FailureKind, ProbeFailure
from harness.probes import Job, ProbeContext
from harness.probes.banners_model import Banner, BannerScan, Source
from harness.probes.deadline import Watchdog
from harness.probes.hostgate import GATE
from harness.probes.ports_model import OpenPort, PortScan

HTTP_HEADER_LIMIT = 65536  # bytes of response head read; the body is never read
GREETING_LIMIT = 4096
MAX_TEXT = 300  # characters of a banner kept for messages and evidence
# headers that name software; any header with "version" in its name counts as well
IDENTIFYING_HEADERS = (
    "server",
    "x-powered-by",
    "x-aspnet-version",
    "x-aspnetmvc-version",
    "x-generator",
    "x-server",
    "x-backend-server",
    "x-powered-cms",
    "via",
    "microsoftsharepointteamservices",
    "x-jenkins",
    "liferay-portal",
)
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
_ANY_GREETING = re.compile(rb"^(?!\d{3}-)[^\n]*\n|(^|\n)\d{3} [^\n]*\n")


@dataclass(frozen=True)
class _Grab:
    kind: str  # http | SSH | FTP | SMTP | POP3 | IMAP | service (unrecognised by nmap)
    address: str
    port: int
    tls: bool
    where: str
    server_name: str
    path: str = "/"
    declared: bool = False


class _GrabError(Exception):
    def __init__(self, kind: FailureKind, reason: str, answered: bool = False) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.answered = answered  # the server sent something before the grab failed


def _clean(raw: bytes | str) -> str:
    text = raw.decode("latin-1") if isinstance(raw, bytes) else raw
    text = "".join(c if c.isprintable() else " " for c in text).strip()
    return text[:MAX_TEXT]


class _Conn:
    """A connection with a total deadline and read limits; TLS without verification.

    Verification is the TLS area's job; here we only want what the server says.
    """

    def __init__(self, grab: _Grab, timeout: float, dog: Watchdog) -> None:
        self.timeout = timeout
        self.deadline = time.monotonic() + 2 * timeout
        self.received = 0
        sock = socket.create_connection((grab.address, grab.port), timeout=timeout)
        dog.watch(sock)
        if grab.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
            ctx.set_ciphers("ALL:@SECLEVEL=0")  # reach legacy servers too
            sni = grab.server_name if not _is_ip(grab.server_name) else None
            try:
                sock = ctx.wrap_socket(sock, server_hostname=sni)
            except BaseException:
                sock.close()
                raise
        self.sock = sock

    @property
    def answered(self) -> bool:
        """Some byte came back: a completed TLS handshake counts, as the server spoke."""
        return self.received > 0 or isinstance(self.sock, ssl.SSLSocket)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_until(self, done: re.Pattern[bytes], limit: int) -> bytes:
        buf = b""
        while len(buf) < limit and not done.search(buf):
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            self.sock.settimeout(min(self.timeout, remaining))
            chunk = self.sock.recv(min(4096, limit - len(buf)))
            if not chunk:
                break
            self.received += len(chunk)
            buf += chunk
        return buf

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def _is_ip(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def grab(g: _Grab, timeout: float) -> tuple[list[Banner], bool]:
    """Read one service's banners, and whether it sent anything at all; raises _GrabError
    saying why it could not (and whether the server had said anything before that).

    A watchdog bounds the whole exchange (connect, TLS handshake, reads) to 2 x timeout, so a
    server that drips bytes or stalls its handshake cannot hold a grab longer than that.
    """
    budget = 2 * timeout
    with Watchdog(budget) as dog:
        try:
            conn = _Conn(g, timeout, dog)
        except ConnectionRefusedError:
            raise _GrabError(FailureKind.REFUSED, f"{g.where}: connection refused") from None
        except socket.gaierror as exc:
            raise _GrabError(
                FailureKind.DNS, f"{g.where}: cannot resolve: {exc.strerror}"
            ) from None
        except (TimeoutError, OSError) as exc:
            if dog.fired or isinstance(exc, TimeoutError):
                raise _GrabError(
                    FailureKind.TIMEOUT, f"{g.where}: no connection within {budget:g} s"
                ) from None
            if isinstance(exc, ssl.SSLError):
                # a TLS alert or a record that is not TLS is an answer; a bare close is not
                raise _GrabError(
                    FailureKind.PROTOCOL,
                    f"{g.where}: TLS handshake failed: {exc.reason}",
                    answered=not isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError),
                ) from None
            raise _GrabError(FailureKind.ERROR, f"{g.where}: {exc.strerror or exc}") from None
        try:
            banners = _read(conn, g)
        except _GrabError as exc:
            exc.answered = exc.answered or conn.answered
            raise
        except (TimeoutError, OSError) as exc:
            if dog.fired or isinstance(exc, TimeoutError):
                raise _GrabError(
                    FailureKind.TIMEOUT,
                    f"{g.where}: no complete answer within {budget:g} s",
                    conn.answered,
                ) from None
            raise _GrabError(
                FailureKind.ERROR, f"{g.where}: {exc.strerror or exc}", conn.answered
            ) from None
        finally:
            conn.close()
        if dog.fired and g.kind != "service":  # a read cut short is not the whole answer
            raise _GrabError(
                FailureKind.TIMEOUT,
                f"{g.where}: no complete answer within {budget:g} s",
                conn.answered,
            )
        return banners, conn.answered


def _read(conn: _Conn, g: _Grab) -> list[Banner]:
    if g.kind == "http":
        host = g.server_name if g.port in (80, 443) else f"{g.server_name}:{g.port}"
        if ":" in g.server_name:
            host = f"[{g.server_name}]:{g.port}"
        conn.send(
            f"GET {g.path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: harness-banners\r\n"
            "Accept: */*\r\nConnection: close\r\n\r\n".encode()
        )
        head = conn.read_until(re.compile(rb"\r?\n\r?\n"), HTTP_HEADER_LIMIT)
        lines = re.split(r"\r?\n", head.decode("latin-1"))
        if not lines[0].startswith("HTTP/"):
            raise _GrabError(FailureKind.PROTOCOL, f"{g.where}: the answer is not HTTP")
        banners = []
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            key = name.strip().lower()
            if sep and (key in IDENTIFYING_HEADERS or "version" in key):
                banners.append(Banner(f"{name.strip()} header", g.where, _clean(value), g.port))
        return banners
    if g.kind == "SSH":
        data = conn.read_until(re.compile(rb"(^|\n)SSH-[^\n]*\n"), GREETING_LIMIT)
        match = re.search(rb"SSH-[^\r\n]*", data)
        if not match:
            raise _GrabError(FailureKind.PROTOCOL, f"{g.where}: no SSH identification string")
        return [Banner("SSH identification string", g.where, _clean(match.group(0)), g.port)]
    if g.kind in ("FTP", "SMTP"):
        # a multi-line reply ends with the line "NNN text"
        data = conn.read_until(re.compile(rb"(^|\n)\d{3}( [^\n]*)?\n"), GREETING_LIMIT)
    elif g.kind == "service":
        # a service nmap could not name: whatever it says first, if anything (one line, or a
        # "NNN-" multi-line reply up to its final line); silence is no failure here
        try:
            data = conn.read_until(_ANY_GREETING, GREETING_LIMIT)
        except TimeoutError:
            return []
    else:  # POP3, IMAP: one line
        data = conn.read_until(re.compile(rb"\n"), GREETING_LIMIT)
    text = _clean(data.replace(b"\r\n", b" ").replace(b"\n", b" "))
    if not text and g.kind == "service":
        return []
    if not text:
        raise _GrabError(FailureKind.PROTOCOL, f"{g.where}: the service sent no greeting")
    return [Banner(f"{g.kind} greeting", g.where, text, g.port)]


def plan(job: Job, scan: PortScan | None) -> list[_Grab]:
    """Declared http endpoints first, then every open port whose service we know how to read."""
    grabs: list[_Grab] = []
    seen: set[tuple[str, int]] = set()
    for endpoint in job.target.http:
        parts = urlsplit(endpoint.url)
        host = parts.hostname or job.target.host
        port = parts.port or (443 if parts.scheme == "https" else 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        # a URL on the target's own name is read on this job's address, with the name as Host/SNI
        address = job.host if host == job.target.host else host
        where = endpoint.url if address == host else f"{endpoint.url} at {address}"
        grabs.append(_Grab("http", address, port, parts.scheme == "https", where, host, path, True))
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
        grabs.append(_Grab(kind, scan.address, p.port, tls, where, job.target.host))
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
        workers = max(1, min(len(jobs), max(j.settings.max_concurrent_hosts for j in jobs)))
        with ThreadPoolExecutor(workers, thread_name_prefix="banners") as pool:
            futures = {pool.submit(self._job, job, ctx): job for job in jobs}
            # publish each host as it finishes, so a silent host never holds back the others
            for fut in as_completed(futures):
                job = futures[fut]
                try:
                    result = fut.result()
                except Exception as exc:  # fail closed with a reason, never a pass
                    result = ProbeFailure(
                        FailureKind.ERROR, job.where, f"{type(exc).__name__}: {exc}"
                    )
                ctx.publish(job.key, result)

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

        def gated(g: _Grab) -> tuple[list[Banner], bool] | _GrabError:
            with GATE.hold(g.address, 1, budget):  # one slot of the host's shared budget
                return _safe_grab(g, timeout)

        with ThreadPoolExecutor(per_host, thread_name_prefix="grab") as pool:
            outcomes = list(pool.map(gated, grabs))
        sources: list[Source] = []
        for g, outcome in zip(grabs, outcomes, strict=True):
            name = f"{g.where} ({'HTTP headers' if g.kind == 'http' else g.kind})"
            if isinstance(outcome, _GrabError):
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


def _safe_grab(g: _Grab, timeout: float) -> tuple[list[Banner], bool] | _GrabError:
    try:
        return grab(g, timeout)
    except _GrabError as exc:
        return exc
