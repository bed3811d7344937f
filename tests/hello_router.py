"""A TCP front that reads each ClientHello and routes it to a real TLS backend, or swallows it.

It never touches the handshake bytes, so every handshake is a real one with a real OpenSSL
server; only the choice of backend depends on the ClientHello, as in a load balancer with a mixed
pool. Two servers the tests need are built this way:

- one that lacks TLS_FALLBACK_SCSV: TLS 1.1 hellos go to a backend whose best version is 1.1
  (so OpenSSL sees no downgrade and accepts the SCSV), the rest to a TLS 1.0-1.2 backend;
- one that swallows any hello carrying the SCSV (0x5600): it accepts, reads, and never answers;
- one that swallows hellos without SNI, as sslyze's Heartbleed and CCS injection tests send.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

FALLBACK_SCSV = b"\x56\x00"
Route = Callable[[bytes], int | None]  # ClientHello record -> backend port, or None: swallow


def hello_version(hello: bytes) -> int:
    """The client_version of a ClientHello record (0x0302 for TLS 1.1); 0 for anything else."""
    if len(hello) < 11 or hello[0] != 0x16:
        return 0
    return int.from_bytes(hello[9:11], "big")


def cipher_suites(hello: bytes) -> list[bytes]:
    """The cipher suites of a ClientHello record; none for anything else (an SSLv2 hello)."""
    if len(hello) < 44 or hello[0] != 0x16:
        return []
    at = 11 + 32  # client_version, random
    at += 1 + hello[at]  # session id
    size = int.from_bytes(hello[at : at + 2], "big")
    body = hello[at + 2 : at + 2 + size]
    return [body[i : i + 2] for i in range(0, len(body), 2)]


def has_server_name(hello: bytes) -> bool:
    """Whether a ClientHello record carries SNI (sslyze's Heartbleed and CCS hellos do not)."""
    if len(hello) < 44 or hello[0] != 0x16:
        return False
    at = 11 + 32
    at += 1 + hello[at]  # session id
    at += 2 + int.from_bytes(hello[at : at + 2], "big")  # cipher suites
    at += 1 + hello[at]  # compression methods
    end = at + 2 + int.from_bytes(hello[at : at + 2], "big")
    at += 2
    while at + 4 <= min(end, len(hello)):
        if hello[at : at + 2] == b"\x00\x00":
            return True
        at += 4 + int.from_bytes(hello[at + 2 : at + 4], "big")
    return False


class HelloRouter:
    def __init__(self, host: str, route: Route, listen: str | None = None) -> None:
        """Routes each hello to a backend port on `host`; listens on `listen` (default: `host`)."""
        self.host, self.route = host, route
        self.sock = socket.create_server((listen or host, 0))
        self.port = int(self.sock.getsockname()[1])
        self.swallowed = 0
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        with client:
            client.settimeout(30)
            try:
                hello = _read_record(client)
            except OSError:
                return
            if not hello:
                return
            port = self.route(hello)
            if port is None:
                self.swallowed += 1
                try:  # hold the connection open and silent until the client gives up
                    while client.recv(4096):
                        pass
                except OSError:
                    pass
                return
            with socket.create_connection((self.host, port)) as backend:
                backend.sendall(hello)
                pump = threading.Thread(target=_pipe, args=(backend, client), daemon=True)
                pump.start()
                _pipe(client, backend)
                pump.join(30)


def _read_record(sock: socket.socket) -> bytes:
    head = _read(sock, 5)
    if len(head) < 5 or head[0] != 0x16:
        return head
    return head + _read(sock, int.from_bytes(head[3:5], "big"))


def _read(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass
