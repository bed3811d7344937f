"""The run is stopping (SIGTERM, Ctrl-C): nothing new leaves the process, and what is under way
ends now.

`stop()` is called by the session when the signal comes. From then on every new outbound
connection (a socket connect, a datagram sent), and every new child process outside pytest's
main thread, is refused with `Stopped`, whichever probe or library asks (sslyze, paramiko,
urllib3, ftplib, nmap): Python's audit hook is the one place all of them pass through, so no
probe can forget a check. The connections opened during the run are shut down, which wakes
any read blocked on them, and the child processes started through `run_child` (nmap, openssl
verify) are terminated, then killed after a grace.

`arm()` starts a run (clears the flag, forgets the last run's connections); `disarm()` ends it,
so a process that runs the harness more than once (pytester) starts each run afresh.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

GRACE_SECONDS = 1.0  # a terminated child that is still there after this is killed

STOPPING = threading.Event()


class Stopped(ConnectionAbortedError):
    """Refused: the run is stopping. An OSError, so probes treat it as a failed connection."""

    def __init__(self, what: str = "a new connection") -> None:
        super().__init__(f"{what} was refused: the run is stopping (SIGTERM or Ctrl-C)")


_lock = threading.RLock()  # stop() may run in a signal handler that interrupted a holder
_armed = False
_hooked = False
_peers: dict[int, Any] = {}  # descriptor -> peer address, of each socket connected in the run
_children: set[subprocess.Popen[bytes]] = set()
_on_stop: list[Callable[[], None]] = []


def check(what: str = "a new connection") -> None:
    """Raise Stopped once the run is stopping."""
    if STOPPING.is_set():
        raise Stopped(what)


def on_stop(callback: Callable[[], None]) -> None:
    """Call `callback` at each stop (it must be quick and must not raise): a waiter wakes."""
    with _lock:
        _on_stop.append(callback)


def off_stop(callback: Callable[[], None]) -> None:
    """Forget a callback given to on_stop (its waiter is done)."""
    with _lock:
        if callback in _on_stop:
            _on_stop.remove(callback)


def arm() -> None:
    """A run starts: refuse nothing yet, and remember the connections it opens."""
    global _armed, _hooked
    with _lock:
        STOPPING.clear()
        _peers.clear()
        _armed = True
        if not _hooked:  # an audit hook cannot be removed: one per process, idle when disarmed
            sys.addaudithook(_audit)
            _hooked = True


def disarm() -> None:
    """The run is over: its sockets are forgotten and connections are allowed again. After a
    stopped run, threads other than pytest's own stay refused until the next arm(): the run's
    probe threads may outlive it (the interpreter waits for them at exit), and so may the
    threads they start after this."""
    global _armed
    with _lock:
        _armed = False
        _peers.clear()


def stop() -> None:
    """Refuse anything new, cut the connections under way, end the children (at most
    GRACE_SECONDS for one that ignores SIGTERM). Safe to call from a signal handler, and twice."""
    with _lock:
        if not _armed:
            return
        STOPPING.set()
        peers = list(_peers.items())
        children = list(_children)
        callbacks = list(_on_stop)
    for callback in callbacks:
        callback()
    for fd, peer in peers:
        _shut(fd, peer)
    _end(children)


def run_child(argv: list[str], timeout: float, cwd: Path | None = None) -> tuple[int, bytes, bytes]:
    """Run argv to its end (exit status, stdout, stderr), within `timeout` seconds, as a child
    that stop() ends. On timeout it is killed and subprocess.TimeoutExpired raised."""
    with _lock:  # stop() snapshots the children under this lock, so none slips past it
        check(f"starting {argv[0]}")
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        _children.add(proc)
    try:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()  # reaps it: no zombie
            raise
    finally:
        with _lock:
            _children.discard(proc)
    return proc.returncode, out, err


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _armed:
        if STOPPING.is_set() and event in ("socket.connect", "socket.sendto"):
            if threading.current_thread() is not threading.main_thread():
                raise Stopped()  # a probe thread of a stopped run, or one it started
        return
    if event == "socket.connect":
        sock = args[0]
        # the check and the record under one lock: a stop() between them would neither refuse
        # this connection nor cut it, and a read on it would wait for its own timeout
        with _lock:
            check()
            try:  # keyed by descriptor: TLS wrappers take the descriptor over from this object
                _peers[sock.fileno()] = args[1]
            except (AttributeError, OSError):
                pass
    elif event == "socket.sendto":  # a datagram to a new destination is a new exchange
        check("a new datagram")
    elif event == "subprocess.Popen" and threading.current_thread() is not threading.main_thread():
        # the main thread is pytest's, which asks `nmap --version` for the Allure environment
        check(f"starting {args[0]}")


def _shut(fd: int, peer: Any) -> None:
    """Shut down the socket on `fd` if it is still connected to `peer`: the descriptor may have
    been closed and reused since, and only the run's own connections are cut."""
    try:
        sock = socket.socket(fileno=fd)
    except OSError:  # closed, or no longer a socket
        return
    try:
        if sock.getpeername()[1] == peer[1]:  # the port: a name and its address compare alike
            sock.shutdown(socket.SHUT_RDWR)
    except (OSError, TypeError, IndexError):  # not connected, or not an internet socket
        pass
    finally:
        sock.detach()  # the descriptor stays its owner's to close


def _end(children: list[subprocess.Popen[bytes]]) -> None:
    for proc in children:
        if proc.poll() is None:
            proc.terminate()
    end = time.monotonic() + GRACE_SECONDS
    for proc in children:
        try:
            proc.wait(timeout=max(0.0, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
