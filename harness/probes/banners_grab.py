"""Reading one banner directly: an HTTP(S) response head, an SSH identification string, or an
FTP/SMTP/POP3/IMAP greeting, each bounded by the target's timeout and a read limit. Nothing
here decides what a banner means."""

from __future__ import annotations

import re
import socket
import ssl
import time
from dataclasses import dataclass

from harness.errors import FailureKind
from harness.probes.banners_model import Banner
from harness.probes.deadline import Watchdog

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
_ANY_GREETING = re.compile(rb"^(?!\d{3}-)[^\n]*\n|(^|\n)\d{3} [^\n]*\n")


@dataclass(frozen=True)
class Grab:
    kind: str  # http | SSH | FTP | SMTP | POP3 | IMAP | service (unrecognised by nmap)
    address: str
    port: int
    tls: bool
    where: str
    server_name: str
    path: str = "/"
    declared: bool = False


class GrabError(Exception):
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

    def __init__(self, grab: Grab, timeout: float, dog: Watchdog) -> None:
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


def grab(g: Grab, timeout: float) -> tuple[list[Banner], bool]:
    """Read one service's banners, and whether it sent anything at all; raises GrabError
    saying why it could not (and whether the server had said anything before that).

    A watchdog bounds the whole exchange (connect, TLS handshake, reads) to 2 x timeout, so a
    server that drips bytes or stalls its handshake cannot hold a grab longer than that.
    """
    budget = 2 * timeout
    with Watchdog(budget) as dog:
        try:
            conn = _Conn(g, timeout, dog)
        except ConnectionRefusedError:
            raise GrabError(FailureKind.REFUSED, f"{g.where}: connection refused") from None
        except socket.gaierror as exc:
            raise GrabError(FailureKind.DNS, f"{g.where}: cannot resolve: {exc.strerror}") from None
        except (TimeoutError, OSError) as exc:
            if dog.fired or isinstance(exc, TimeoutError):
                raise GrabError(
                    FailureKind.TIMEOUT, f"{g.where}: no connection within {budget:g} s"
                ) from None
            if isinstance(exc, ssl.SSLError):
                # a TLS alert or a record that is not TLS is an answer; a bare close is not
                raise GrabError(
                    FailureKind.PROTOCOL,
                    f"{g.where}: TLS handshake failed: {exc.reason}",
                    answered=not isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError),
                ) from None
            raise GrabError(FailureKind.ERROR, f"{g.where}: {exc.strerror or exc}") from None
        try:
            banners = _read(conn, g)
        except GrabError as exc:
            exc.answered = exc.answered or conn.answered
            raise
        except (TimeoutError, OSError) as exc:
            if dog.fired or isinstance(exc, TimeoutError):
                raise GrabError(
                    FailureKind.TIMEOUT,
                    f"{g.where}: no complete answer within {budget:g} s",
                    conn.answered,
                ) from None
            raise GrabError(
                FailureKind.ERROR, f"{g.where}: {exc.strerror or exc}", conn.answered
            ) from None
        finally:
            conn.close()
        if dog.fired and g.kind != "service":  # a read cut short is not the whole answer
            raise GrabError(
                FailureKind.TIMEOUT,
                f"{g.where}: no complete answer within {budget:g} s",
                conn.answered,
            )
        return banners, conn.answered


def _read(conn: _Conn, g: Grab) -> list[Banner]:
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
            raise GrabError(FailureKind.PROTOCOL, f"{g.where}: the answer is not HTTP")
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
            raise GrabError(FailureKind.PROTOCOL, f"{g.where}: no SSH identification string")
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
        raise GrabError(FailureKind.PROTOCOL, f"{g.where}: the service sent no greeting")
    return [Banner(f"{g.kind} greeting", g.where, text, g.port)]


def safe_grab(g: Grab, timeout: float) -> tuple[list[Banner], bool] | GrabError:
    try:
        return grab(g, timeout)
    except GrabError as exc:
        return exc
