"""A fragile server on loopback: a proxy that serves one connection at a time, slower when busy.

Old appliances and embedded TLS servers are often single-threaded: the next connection waits
until the current one is done. This proxy does that in front of a real server (here `openssl
s_server`): one thread accepts every client into a queue, another serves them one at a time:
it waits `latency` seconds, plus `per_waiting` seconds for every client still queued behind
(a server that thrashes under load), connects to the upstream, relays both ways until either
side closes, and only then takes the next client. Five parallel handshakes therefore queue for
seconds and the last ones time out; one at a time, each is answered within `latency`. Given the
same order of connections, it behaves the same every run.

`wedge_after=N` makes it wedge after N connections: it takes one more client, never reads from
it, never answers, and serves nobody else (a server stuck on one connection).
`served` counts the clients relayed; `peak_waiting` is the longest queue seen.
"""

from __future__ import annotations

import os
import queue
import selectors
import socket
import subprocess
import threading
import time
from pathlib import Path

from tls_servers import s_server

HOST = "127.0.0.1"


class FragileProxy:
    def __init__(
        self,
        upstream: tuple[str, int],
        latency: float = 0.05,
        per_waiting: float = 0.5,
        wedge_after: int | None = None,
        host: str = HOST,
    ) -> None:
        self.upstream = upstream
        self.latency = latency
        self.per_waiting = per_waiting
        self.wedge_after = wedge_after
        self.served = 0
        self.peak_waiting = 0
        self.stop = threading.Event()
        self._queue: queue.Queue[socket.socket] = queue.Queue()
        self.sock = socket.create_server((host, 0), backlog=64)
        self.sock.settimeout(0.2)
        self.host = host
        self.port: int = self.sock.getsockname()[1]
        self._threads = [
            threading.Thread(target=self._accept, daemon=True),
            threading.Thread(target=self._serve, daemon=True),
        ]
        for t in self._threads:
            t.start()

    def close(self) -> None:
        self.stop.set()
        for t in self._threads:
            t.join(10)
        self.sock.close()
        while not self._queue.empty():
            self._queue.get_nowait().close()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                client, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._queue.put(client)

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                client = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            with client:
                if _gone(client):  # given up while queued: a real server reads EOF at once
                    continue
                waiting = self._queue.qsize()
                self.peak_waiting = max(self.peak_waiting, waiting)
                if self.wedge_after is not None and self.served >= self.wedge_after:
                    self.stop.wait()  # hold it: never read, never answer, never serve again
                    return
                self.served += 1
                if self.stop.wait(self.latency + self.per_waiting * waiting):
                    return
                try:
                    with socket.create_connection(self.upstream, timeout=5) as server:
                        self._relay(client, server)
                except OSError:
                    pass

    def _relay(self, client: socket.socket, server: socket.socket) -> None:
        peers = {client: server, server: client}
        with selectors.DefaultSelector() as sel:
            for s in peers:
                s.setblocking(False)
                sel.register(s, selectors.EVENT_READ)
            idle_since = time.monotonic()
            while not self.stop.is_set() and time.monotonic() - idle_since < 30:
                for key, _ in sel.select(0.2):
                    src = key.fileobj
                    assert isinstance(src, socket.socket)
                    try:
                        data = src.recv(65536)
                    except BlockingIOError:
                        continue
                    except OSError:
                        return
                    if not data:
                        return
                    idle_since = time.monotonic()
                    dst = peers[src]
                    dst.setblocking(True)
                    try:
                        dst.sendall(data)
                    except OSError:
                        return
                    finally:
                        dst.setblocking(False)


def _gone(client: socket.socket) -> bool:
    """The client closed its side (TCP state CLOSE_WAIT, Linux's TCP_INFO)."""
    return client.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] == 8


def legacy_s_server(cert: Path, host: str = HOST) -> tuple[int, subprocess.Popen[bytes]]:
    """Debian's OpenSSL 3 `s_server` (one connection at a time) with TLS 1.0 to 1.3 and every
    suite it has (`ALL:@SECLEVEL=0`): legacy CBC, RSA key exchange, 3DES, DHE."""
    return s_server(cert, "-cipher", "ALL:@SECLEVEL=0", "-min_protocol", "TLSv1", host=host)


def sockets_to(host: str, port: int) -> int:
    """How many of this process's file descriptors are TCP sockets to host:port (IPv4), read
    from /proc/net/tcp and /proc/self/fd: what is really open, whatever Python objects think."""
    remote = f"{socket.inet_aton(host)[::-1].hex().upper()}:{port:04X}"
    inodes = set()
    with open("/proc/net/tcp") as table:
        for line in table.read().splitlines()[1:]:
            fields = line.split()
            if fields[2] == remote and fields[9] != "0":
                inodes.add(f"socket:[{fields[9]}]")
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") in inodes:
                count += 1
        except OSError:
            pass  # closed while listing
    return count
