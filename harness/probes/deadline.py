"""Wall-clock deadlines for probes that talk to servers which may be hostile.

A per-read timeout does not bound a server that drips one byte a second, each byte well within
the timeout, nor one whose banner never ends. A `Watchdog` shuts its sockets down when its
deadline passes; that wakes any read blocked on them (it sees end-of-file), so the probe gives up
within the deadline whatever the server does, and can say why (`fired`).
"""

from __future__ import annotations

import socket
import threading
from types import TracebackType

DEADLINE_FACTOR = 3  # one exchange may take this many timeouts: slow but honest servers fit


def deadline_for(timeout: float) -> float:
    """The wall-clock budget of one exchange (connect, request, answer) for a per-read timeout."""
    return DEADLINE_FACTOR * timeout


class _Current(threading.local):
    watchdog: Watchdog | None = None


_current = _Current()


class Watchdog:
    """`with Watchdog(seconds) as wd:` ... `wd.watch(sock)`; sockets opened by instrumented
    clients in this thread while it is active are watched too (see `current`)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.fired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._outer: Watchdog | None = None

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            if self.fired:
                _shut(sock)
            elif all(s is not sock for s in self._sockets):
                self._sockets.append(sock)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            for sock in self._sockets:
                _shut(sock)

    def __enter__(self) -> Watchdog:
        self._outer, _current.watchdog = _current.watchdog, self
        self._timer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._timer.cancel()
        _current.watchdog = self._outer
        with self._lock:
            self._sockets.clear()  # never touch them after this: their numbers may be reused


def current() -> Watchdog | None:
    """The innermost active watchdog of this thread."""
    return _current.watchdog


def _shut(sock: socket.socket) -> None:
    # a closed or detached socket object reports -1, so a reused descriptor is never touched
    if sock.fileno() == -1:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


TLS_PASS_FACTOR = 30  # one pass over a TLS endpoint (hundreds of handshakes) in timeouts


def tls_pass_deadline(timeout: float) -> float:
    """The hard deadline of one pass of the TLS probe over one endpoint (parallel or serial)."""
    return TLS_PASS_FACTOR * timeout


def tls_endpoint_bound(timeout: float) -> float:
    """The longest one TLS endpoint's measurement can take once it holds its slots: the
    pre-check (one timeout), a parallel pass and a serial one."""
    return timeout + 2 * tls_pass_deadline(timeout)
