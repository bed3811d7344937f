"""Plain TCP services of the lab: line-oriented listeners that greet or answer like real daemons."""

from __future__ import annotations

import socket
import socketserver
import threading


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
    return tcp_service(host, port, reply=b"-NOAUTH Authentication required.\r\n")


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
