"""The questions discovery asks a found service that nmap's answer leaves open: does this plain
SMTP, IMAP, POP3, FTP or PostgreSQL offer STARTTLS, and does this HTTP server ask for
credentials at `/`. One short connection each, to the address the port scan found it on, held
in the host's connection budget (hostgate), with the target's timeout on every read, and closed
on every path. No credentials are ever sent.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import struct
from collections.abc import Callable

from harness.probes.discovered import Facts
from harness.probes.hostgate import GATE

MAX_BYTES = 16384  # a capability list is a few hundred bytes; a flood is cut here
POSTGRES_SSLREQUEST = struct.pack("!II", 8, 80877103)


def ask(
    question: str, address: str, port: int, timeout: float, per_host: int, tls: bool = False
) -> Facts:
    """Answer one question ('starttls:<protocol>' or 'http') about one port."""
    try:
        with GATE.hold(address, 1, per_host):
            if question == "http":
                return Facts(http_auth=_http_auth(address, port, timeout, tls))
            protocol = question.partition(":")[2]
            return Facts(starttls=_starttls(protocol, address, port, timeout))
    except (OSError, ValueError, http.client.HTTPException) as exc:
        return Facts(note=f"{type(exc).__name__}: {exc}"[:200])


def _starttls(protocol: str, address: str, port: int, timeout: float) -> bool:
    with socket.create_connection((address, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        if protocol == "postgres":
            sock.sendall(POSTGRES_SSLREQUEST)
            return sock.recv(1) == b"S"  # 'S': go on with TLS (we close instead)
        talk = _Talk(sock)
        if protocol == "smtp":
            talk.read(_reply_end)
            lines = talk.say(b"EHLO harness.invalid\r\n", _reply_end)
            offered = any(line[4:].strip().upper() == "STARTTLS" for line in lines)
            talk.bye(b"QUIT\r\n")
        elif protocol == "ftp":
            talk.read(_reply_end)
            lines = talk.say(b"FEAT\r\n", _reply_end)
            # the feature lines between '211-' and '211 End': ' AUTH TLS' (or 'AUTH TLS;SSL')
            offered = any(line.strip().upper().startswith("AUTH TLS") for line in lines[1:-1])
            talk.bye(b"QUIT\r\n")
        elif protocol == "imap":
            talk.read(lambda line: line.startswith("* "))
            lines = talk.say(b"a1 CAPABILITY\r\n", lambda line: line.startswith("a1 "))
            offered = any("STARTTLS" in line.upper().split() for line in lines)
            talk.bye(b"a2 LOGOUT\r\n")
        elif protocol == "pop3":
            talk.read(lambda line: line.startswith(("+OK", "-ERR")))
            lines = talk.say(b"CAPA\r\n", lambda line: line.strip() == "." or line[:4] == "-ERR")
            offered = any(line.strip().upper() == "STLS" for line in lines)
            talk.bye(b"QUIT\r\n")
        else:
            raise ValueError(f"discovery does not ask about STARTTLS for {protocol}")
        return offered


def _reply_end(line: str) -> bool:
    """The last line of an SMTP or FTP reply: three digits and a space."""
    return len(line) >= 4 and line[:3].isdigit() and line[3] == " "


class _Talk:
    """Line-based request and answer on one socket, every read bounded in time and size."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        self.total = 0

    def read(self, last: Callable[[str], bool]) -> list[str]:
        lines: list[str] = []
        while True:
            while b"\n" not in self.buffer:
                chunk = self.sock.recv(4096)
                self.total += len(chunk)
                if not chunk or self.total > MAX_BYTES:
                    raise ConnectionError("the service closed or flooded before it answered")
                self.buffer += chunk
            raw, _, self.buffer = self.buffer.partition(b"\n")
            line = raw.decode("latin-1").rstrip("\r")
            lines.append(line)
            if last(line):
                return lines

    def say(self, command: bytes, last: Callable[[str], bool]) -> list[str]:
        self.sock.sendall(command)
        return self.read(last)

    def bye(self, command: bytes) -> None:
        try:
            self.sock.sendall(command)
        except OSError:
            pass  # the answer is in; a service that hung up first changes nothing


def _http_auth(address: str, port: int, timeout: float, tls: bool) -> str:
    """'basic' or 'digest' when GET / answers 401 with that challenge, else ''."""
    host = f"[{address}]" if ":" in address else address
    conn: http.client.HTTPConnection
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # a question about the challenge, not about trust
        conn = http.client.HTTPSConnection(address, port, timeout=timeout, context=ctx)
    else:
        conn = http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        conn.request("GET", "/", headers={"Host": f"{host}:{port}", "Connection": "close"})
        answer = conn.getresponse()
        challenge = answer.getheader("WWW-Authenticate") or ""
        answer.read(MAX_BYTES)
        if answer.status != 401:
            return ""
        scheme = challenge.strip().split(" ", 1)[0].lower()
        return scheme if scheme in ("basic", "digest") else ""
    finally:
        conn.close()
