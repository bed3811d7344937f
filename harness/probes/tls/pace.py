"""Every connection the TLS probe opens to one endpoint, under one `Pace`: a hard deadline, a
count of timeouts, and (once asked) one connection at a time.

sslyze opens its sockets deep inside its plugins and closes them in `finally` blocks that can
themselves fail (nassl's shutdown raises before it closes the socket), so a connection could be
left open mid-handshake: on a server that serves one connection at a time, that wedges the
server for everyone. Here sslyze's socket opener is routed through the `Pace` of the calling
thread (the endpoint's own threads carry it), which keeps every socket it hands out:

- `expire()` (the deadline) shuts every open socket down, which wakes any read blocked on it,
  and refuses new ones, so the measurement ends within its deadline whatever the server does;
- `finish()` closes whatever is still open when the measurement is over, on every path;
- a read, write or connect that times out is counted (`timeouts`); in a parallel pass
  (`gives_up`) the first one ends the pass at once, as the deadline would (`gave_up`): on a
  healthy server no handshake times out (none did on the servers in tests/ and bench/), and on
  a busy one the handshakes queued behind it would only time out too, so the caller measures
  again one at a time;
- `serial`: a new connection waits until the endpoint has no other one open, and `PAUSE` after
  the last one closed, so a single-threaded server is never asked twice at once; with
  `widen_after=N`, N timeouts while serial end that (`widened`): a server silent to handshakes
  asked alone is not queueing them, and the rest goes parallel again.

The opener replaced is private to sslyze (tls.sslyze_adapter.replace_direct_opener);
tests/test_sslyze_contract.py checks that sslyze still calls it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from harness.probes import stopping
from harness.probes.tls import sslyze_adapter

PAUSE = 0.02  # seconds between two connections when serial: the server's time to tidy up
# timeouts with no other connection open that show a server silent by choice (it swallows some
# hellos), not queueing them: serial asking would only multiply their cost
SILENT_LIMIT = 3


class PaceExpired(OSError):
    """A connection asked for after the endpoint's deadline (sslyze reads it as a failure to
    connect, never as an answer)."""


class _Local(threading.local):
    pace: Pace | None = None


_local = _Local()


class _PacedSocket(socket.socket):
    """A socket that reports its timeouts and its close to its Pace."""

    pace: Pace

    def connect(self, address: Any) -> None:
        try:
            super().connect(address)
        except TimeoutError:
            self.pace.timed_out()
            raise

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        try:
            return super().recv(bufsize, flags)
        except TimeoutError:
            self.pace.timed_out()
            raise

    def send(self, data: Any, flags: int = 0) -> int:
        try:
            return super().send(data, flags)
        except TimeoutError:
            self.pace.timed_out()
            raise

    def sendall(self, data: Any, flags: int = 0) -> None:
        try:
            super().sendall(data, flags)
        except TimeoutError:
            self.pace.timed_out()
            raise

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.pace.closed(self)


class Pace:
    def __init__(
        self,
        deadline: float,
        serial: bool = False,
        widen_after: int | None = None,
        gives_up: bool = False,
    ) -> None:
        self.deadline = deadline
        self.serial = serial
        self.gives_up = gives_up  # a parallel pass: its first timeout ends it (`gave_up`)
        self.widen_after = widen_after
        self.widened = False
        self.timeouts = 0
        self.opened = 0
        self.expired = False
        self.gave_up = False  # ended by a timeout in a parallel pass, not by the deadline
        self.left_open = 0  # sockets finish() had to close: sslyze or a probe did not
        self._cond = threading.Condition()
        self._live: list[_PacedSocket] = []
        self._last_close = 0.0
        self._timer = threading.Timer(deadline, self.expire)
        self._timer.daemon = True
        self._timer.start()
        # a stopping run (SIGTERM) ends the pass as its deadline would: blocked reads wake, and
        # a serial pass waiting for its turn to connect stops waiting
        stopping.on_stop(self.expire)
        if stopping.STOPPING.is_set():
            self.expire()

    def open(self, address: tuple[str, int], timeout: float) -> socket.socket:
        """A TCP connection to `address`, kept by this pace until it is closed."""
        with self._cond:
            while self.serial and not self.expired:
                if self._live:  # expire() and closed() notify
                    self._cond.wait(0.5)
                    continue
                wait = self._last_close + PAUSE - time.monotonic()
                if wait <= 0:
                    break
                self._cond.wait(wait)
            if self.expired:
                raise PaceExpired("the endpoint's TLS deadline has passed")
            family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
            sock = _PacedSocket(family, socket.SOCK_STREAM)
            sock.pace = self
            self._live.append(sock)
            self.opened += 1
        try:
            sock.settimeout(timeout)
            sock.connect(address)
        except BaseException:
            sock.close()
            raise
        return sock

    def timed_out(self) -> None:
        with self._cond:
            self.timeouts += 1
            if self.serial and self.widen_after is not None and self.timeouts >= self.widen_after:
                self.serial, self.widened = False, True
                self._cond.notify_all()
            give_up = self.gives_up and not self.serial and not self.expired
        if give_up:
            self.gave_up = True
            self.expire()

    def closed(self, sock: socket.socket) -> None:
        with self._cond:
            if any(s is sock for s in self._live):
                self._live = [s for s in self._live if s is not sock]
                self._last_close = time.monotonic()
                self._cond.notify_all()

    def expire(self) -> None:
        """The deadline: wake every blocked read, refuse every new connection."""
        with self._cond:
            self.expired = True
            live = list(self._live)
            self._cond.notify_all()
        for sock in live:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def finish(self) -> None:
        """Stop the clock and close every socket still open (on every path, once done)."""
        self._timer.cancel()
        stopping.off_stop(self.expire)
        with self._cond:
            live = list(self._live)
        self.left_open += len(live)
        for sock in live:
            sock.close()

    @contextmanager
    def current(self) -> Iterator[Pace]:
        """Connections opened by this thread inside the block go through this pace."""
        outer, _local.pace = _local.pace, self
        try:
            yield self
        finally:
            _local.pace = outer

    def enter_thread(self) -> None:
        """For a worker thread that works for this pace only (a ThreadPoolExecutor initializer)."""
        _local.pace = self


def current() -> Pace | None:
    return _local.pace


def open_direct(server_location: Any, network_timeout: int) -> socket.socket:
    """sslyze's direct connection, through the calling thread's pace when it has one."""
    pace = current()
    if pace is None:
        return sslyze_adapter.SSLYZE_DIRECT_OPENER(server_location, network_timeout)
    return pace.open((server_location.ip_address, server_location.port), network_timeout)


def install() -> None:
    """Route sslyze's direct connections through the calling thread's pace (idempotent)."""
    sslyze_adapter.replace_direct_opener(open_direct)
