"""Plain TCP services of the lab: line-oriented listeners that greet or answer like real daemons."""

from __future__ import annotations

import ipaddress
import socket
import socketserver
import ssl
import threading
from pathlib import Path


class _Greeter(socketserver.BaseRequestHandler):
    greeting: bytes = b""
    reply: bytes = b""

    def handle(self) -> None:
        self.request.settimeout(10)
        try:
            if self.greeting:
                self.request.sendall(self.greeting)
            if self.reply:
                while self.request.recv(4096):
                    self.request.sendall(self.reply)
            else:
                self.request.recv(4096)
        except OSError:
            return


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def tcp_service(
    host: str, port: int, greeting: bytes = b"", reply: bytes = b""
) -> socketserver.BaseServer:
    handler = type("Handler", (_Greeter,), {"greeting": greeting, "reply": reply})
    server = _Server((host, port), handler)
    threading.Thread(target=server.serve_forever, daemon=True, name=f"lab-tcp-{port}").start()
    return server


def redis_like(host: str, port: int = 6379) -> socketserver.BaseServer:
    """A port nobody declared that answers like a password-protected Redis."""
    # the answer of a password-protected Redis before 2.8; nmap's signatures recognise it, so
    # version detection names the service at once instead of trying every probe
    return tcp_service(host, port, reply=b"-ERR operation not permitted\r\n")


def udp_bound(host: str, port: int) -> bool:
    """Is host:port/udp bound on this machine? (Linux /proc/net/udp; False where it is absent.)"""
    try:
        lines = Path("/proc/net/udp").read_text().splitlines()[1:]
    except OSError:
        return False
    wanted = f"{ipaddress.IPv4Address(host).packed[::-1].hex().upper()}:{port:04X}"
    return any(line.split()[1] == wanted for line in lines if len(line.split()) > 1)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class _HttpBanner(socketserver.BaseRequestHandler):
    headers: tuple[tuple[str, str], ...] = ()

    def handle(self) -> None:
        self.request.settimeout(10)
        try:
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 16384:
                chunk = self.request.recv(4096)
                if not chunk:
                    return
                head += chunk
            body = b"<h1>lab</h1>"
            lines = ["HTTP/1.1 200 OK", f"Content-Length: {len(body)}", "Connection: close"]
            lines += [f"{name}: {value}" for name, value in self.headers]
            self.request.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        except OSError:
            return


def http_banner(
    host: str,
    port: int = 0,
    headers: tuple[tuple[str, str], ...] = (),
    tls: ssl.SSLContext | None = None,
) -> socketserver.BaseServer:
    """An HTTP(S) server that answers every request with 200 and the given headers."""
    handler = type("Handler", (_HttpBanner,), {"headers": headers})
    server = _Server((host, port), handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True, name=f"lab-http-{port}").start()
    return server


class _Tarpit(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.settimeout(120)
        try:
            while self.request.recv(4096):
                pass  # accept, read, never answer: probes that wait for a reply must give up
        except OSError:
            return


def tarpit(host: str, port: int = 0) -> socketserver.BaseServer:
    """A port that accepts connections and never says a word."""
    server = _Server((host, port), _Tarpit)
    threading.Thread(target=server.serve_forever, daemon=True, name=f"lab-tarpit-{port}").start()
    return server


class FilteredPort:
    """A port whose SYNs go unanswered, like a firewalled one, without a firewall.

    A listener that never accepts, with its accept queue filled: the kernel then drops further
    SYNs, so a connect scan times out on it and nmap reports the port `filtered`.
    """

    def __init__(self, host: str) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind((host, 0))
        self.listener.listen(0)
        self.port: int = self.listener.getsockname()[1]
        self.fillers: list[socket.socket] = []
        for _ in range(3):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            try:
                filler.connect((host, self.port))
            except BlockingIOError:
                pass
            self.fillers.append(filler)

    def close(self) -> None:
        for s in (*self.fillers, self.listener):
            s.close()
