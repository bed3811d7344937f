"""The worst the network has, on loopback: servers that hang, flood, drip, reset or lie.

Each `Hostile` listens on an ephemeral port of a 127.x address and runs one behaviour per
connection in a daemon thread. It counts connections and the bytes it managed to hand to the
kernel per connection, so a test can show that a probe stopped reading (a client that keeps
reading an endless stream lets the server send without end).

Behaviours: a tarpit (accepts, never speaks), a TLS server that stalls mid-handshake, garbage,
an endless banner (endless lines, or one line that never ends), a reset on connect, an HTTP
answer with 10 MB of headers, an HTTP answer dripped a byte a second, and an endless redirect
loop. A login endpoint that answers 200 to everything is `login_servers.LoginApp` with
`everything_200`; a name that never resolves is `UNRESOLVABLE` (RFC 2606 reserves .invalid).
"""

from __future__ import annotations

import random
import socket
import struct
import threading
from collections.abc import Callable

HOST = "127.0.0.1"
UNRESOLVABLE = "no-such-host.invalid"
TEN_MB = 10 * 1024 * 1024

Behaviour = Callable[["Hostile", socket.socket, int], None]


class Hostile:
    def __init__(self, behaviour: Behaviour, host: str = HOST) -> None:
        self.behaviour = behaviour
        self.stop = threading.Event()
        self.connections = 0
        self.sent: list[int] = []  # bytes handed to the kernel, per connection
        self._lock = threading.Lock()
        self.sock = socket.create_server((host, 0), backlog=128)
        self.sock.settimeout(0.2)
        self.host = host
        self.port: int = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def url(self, path: str = "/", scheme: str = "http") -> str:
        return f"{scheme}://{self.host}:{self.port}{path}"

    @property
    def most_sent(self) -> int:
        with self._lock:
            return max(self.sent, default=0)

    def close(self) -> None:
        self.stop.set()
        self.sock.close()

    def send(self, conn: socket.socket, data: bytes, index: int) -> bool:
        """Send all of data; False once the client has gone (or the server is stopping)."""
        if self.stop.is_set():
            return False
        try:
            conn.sendall(data)
        except OSError:
            return False
        with self._lock:
            self.sent[index] += len(data)
        return True

    def hold(self, conn: socket.socket) -> None:
        """Keep the connection open, reading and discarding, until the client or test ends it."""
        conn.settimeout(0.2)
        while not self.stop.is_set():
            try:
                if not conn.recv(65536):
                    return
            except TimeoutError:
                continue
            except OSError:
                return

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with self._lock:
            self.connections += 1
            self.sent.append(0)
            index = len(self.sent) - 1
        conn.setblocking(True)
        try:
            self.behaviour(self, conn, index)
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass


def read_request(conn: socket.socket, limit: int = 65536, wait: float = 5.0) -> bytes:
    """Whatever the client sends first (a ClientHello, an HTTP request head), up to limit."""
    conn.settimeout(wait)
    data = b""
    try:
        while len(data) < limit and b"\r\n\r\n" not in data:
            chunk = conn.recv(limit - len(data))
            if not chunk:
                break
            data += chunk
            if data[:1] == b"\x16" and len(data) >= 5:  # a TLS record: one is enough
                break
    except OSError:
        pass
    return data


# -------------------------------------------------------------------------------- behaviours


def tarpit(server: Hostile, conn: socket.socket, index: int) -> None:
    """Accepts the connection and never says a word."""
    server.hold(conn)


def tls_stall(server: Hostile, conn: socket.socket, index: int) -> None:
    """Reads the ClientHello, sends the first bytes of a ServerHello, then nothing more."""
    if read_request(conn)[:1] != b"\x16":
        return
    # a handshake record announcing 122 bytes, of which only the first 6 ever arrive
    server.send(conn, b"\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03", index)
    server.hold(conn)


def garbage(server: Hostile, conn: socket.socket, index: int) -> None:
    """Answers the connection, and everything sent to it, with random bytes; then closes."""
    rng = random.Random(server.port)
    if not server.send(conn, rng.randbytes(4096), index):
        return
    conn.settimeout(2.0)
    for _ in range(64):
        try:
            if not conn.recv(65536):
                return
        except OSError:
            return
        if not server.send(conn, rng.randbytes(16384), index):
            return


def endless_lines(server: Hostile, conn: socket.socket, index: int) -> None:
    """A banner that never ends: '220-' continuation lines, for ever (FTP, SMTP style)."""
    block = b"".join(b"220-welcome %06d " % i + b"x" * 60 + b"\r\n" for i in range(800))
    while server.send(conn, block, index):
        pass


def endless_line(server: Hostile, conn: socket.socket, index: int) -> None:
    """One banner line that never ends: 'SSH-2.0-' followed by letters and no newline."""
    if not server.send(conn, b"SSH-2.0-", index):
        return
    block = b"A" * 65536
    while server.send(conn, block, index):
        pass


def reset(server: Hostile, conn: socket.socket, index: int) -> None:
    """Accepts, then resets the connection (RST, not a FIN)."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def huge_headers(server: Hostile, conn: socket.socket, index: int) -> None:
    """An HTTP answer with 10 MB of headers, then a tiny body."""
    read_request(conn)
    if not server.send(conn, b"HTTP/1.1 200 OK\r\nServer: nginx/1.18.0\r\n", index):
        return
    line = b"X-Padding: " + b"p" * 1000 + b"\r\n"
    block = line * 64
    total = 0
    while total < TEN_MB:
        if not server.send(conn, block, index):
            return
        total += len(block)
    server.send(conn, b"Content-Length: 2\r\n\r\nok", index)


def drip(server: Hostile, conn: socket.socket, index: int) -> None:
    """A plausible HTTP answer, one byte a second, headers that never end."""
    read_request(conn)
    answer = b"HTTP/1.1 200 OK\r\nServer: nginx/1.18.0\r\n" + b"X-Slow: " + b"." * 100000
    for byte in answer:
        if not server.send(conn, bytes([byte]), index):
            return
        if server.stop.wait(1.0):
            return


def redirect_loop(server: Hostile, conn: socket.socket, index: int) -> None:
    """Every request is redirected to the other of two paths, for ever (keep-alive)."""
    conn.settimeout(5.0)
    reader = conn.makefile("rb")
    try:
        while not server.stop.is_set():
            line = reader.readline(8192)
            if not line:
                return
            parts = line.split()
            path = parts[1].decode("latin-1") if len(parts) > 1 else "/"
            length = 0
            while (header := reader.readline(8192)) not in (b"\r\n", b"\n", b""):
                if header.lower().startswith(b"content-length:"):
                    length = int(header.split(b":", 1)[1].strip() or 0)
            reader.read(length)
            nxt = "/b" if path.startswith("/a") else "/a"
            if not server.send(
                conn,
                f"HTTP/1.1 302 Found\r\nLocation: {nxt}\r\nContent-Length: 0\r\n\r\n".encode(),
                index,
            ):
                return
    except OSError:
        return


class Sentinel:
    """A listener nobody declared: it only counts connections. A probe that reaches it was
    steered off the declared scope by a server's answer."""

    def __init__(self, host: str) -> None:
        self.server = Hostile(lambda server, conn, index: None, host)
        self.host, self.port = host, self.server.port

    @property
    def connections(self) -> int:
        return self.server.connections

    def url(self, path: str = "/steal", scheme: str = "http") -> str:
        return self.server.url(path, scheme)

    def close(self) -> None:
        self.server.close()


def steer_to(*urls: str) -> Behaviour:
    """Answers every HTTP request by pointing the client at `urls`: a login form posting there,
    a meta refresh, links, a `Refresh` header, and for `/admin` a 302 there; anything else gets
    a line naming them, then the connection closes."""
    first = urls[0]
    links = "".join(f'<a href="{u}">x</a><img src="{u}">' for u in urls)
    page = (
        f'<html><head><meta http-equiv="refresh" content="0;url={first}"></head><body>'
        f'<form method="post" action="{first}"><input name="username">'
        f'<input type="password" name="password"></form>{links}</body></html>'
    ).encode()

    def behaviour(server: Hostile, conn: socket.socket, index: int) -> None:
        request = read_request(conn, wait=1.0)
        if not request.split(b" ", 1)[0].isalpha():
            server.send(conn, f"220 go to {first}\r\n".encode(), index)
            return
        path = request.split(b" ", 2)[1] if request.count(b" ") >= 2 else b"/"
        if b"admin" in path or request.startswith(b"POST"):
            head = f"HTTP/1.1 302 Found\r\nLocation: {first}\r\nContent-Length: 0\r\n"
            server.send(conn, (head + "Connection: close\r\n\r\n").encode(), index)
            return
        head = (
            f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nRefresh: 0; url={first}\r\n"
            f"Content-Length: {len(page)}\r\nConnection: close\r\n\r\n"
        )
        server.send(conn, head.encode() + page, index)

    return behaviour
