"""SIGTERM (a cancelled CI job, `kill`) ends a harness run like Ctrl-C, only sooner.

At the signal the probes are stopped (probes.stopping: no new connection or child process, the
connections under way cut, nmap ended), so the run exits within seconds instead of waiting for
the probes' work to run out. While tests run, the signal also becomes a KeyboardInterrupt, once:
pytest then finishes the session, so the summary is printed and allure-results is complete.

Python runs a signal handler only in the main thread, and only once that thread runs Python
code again; an xdist worker's main thread can sit for seconds in a wait that the signal does not
end. So a watcher thread reads the wakeup descriptor that Python's C-level handler writes to the
moment the signal arrives, delivers the signal once more to the main thread itself, which ends
its wait, and stops the probes. An xdist controller passes the signal on to its workers, which
do the probing: a CI runner may signal the controller alone.

Once the session is finishing (`finishing()`: summary, Allure files, unconfigure) an exception
would only cut that work short and end in a traceback, so a SIGTERM then is recorded
(`received`) and the session sets exit status 2 ("interrupted") itself. Python's default would
end the process on the spot; the previous handler is back after `restore()`.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from pathlib import Path
from typing import Any

from harness.probes import stopping


class SigtermAsInterrupt:
    def __init__(self) -> None:
        self._previous: Any = None
        self.installed = False
        self.received = False  # a SIGTERM came during this run
        self._raise = True  # while tests run: the first SIGTERM interrupts pytest
        self._forward = False
        self._acted = False
        self.raised: KeyboardInterrupt | None = None  # the one this handler raised
        self._lock = threading.RLock()  # the handler may interrupt the main thread inside _act
        self._watcher: _Watcher | None = None

    def install(self, forward: bool = False) -> None:
        """`forward`: an xdist controller, which passes the signal on to its workers (they
        probe; a CI runner may signal the controller alone)."""
        if self.installed or threading.current_thread() is not threading.main_thread():
            return
        self._forward = forward
        self.received = False
        self._raise = True
        self._acted = False
        self.raised = None
        stopping.arm()
        previous = signal.signal(signal.SIGTERM, self._on_sigterm)
        self._previous = (
            signal.SIG_DFL if previous is None else previous
        )  # None: set outside Python
        self._watcher = _Watcher.start(self._act)
        self.installed = True

    def finishing(self) -> None:
        """The session is finishing: from now on a SIGTERM is recorded, never raised."""
        self._raise = False

    def restore(self) -> None:
        if self.installed:
            if self._watcher is not None:
                self._watcher.close()
                self._watcher = None
            signal.signal(signal.SIGTERM, self._previous)
            self.installed = False
            stopping.disarm()

    def _act(self) -> None:
        """What must not wait for the main thread, done once, by whichever thread is first."""
        with self._lock:
            self.received = True
            if self._acted:
                return
            self._acted = True
        if self._forward:
            for pid in children_of(os.getpid()):
                try:
                    os.kill(pid, signal.SIGTERM)
                except OSError:  # ended meanwhile
                    pass
        stopping.stop()

    def _on_sigterm(self, signum: int, frame: Any) -> None:
        if self._watcher is None:
            self._act()
        else:  # the watcher acts; here a second delivery could interrupt its work half-way
            self.received = True
        if self._raise and self.raised is None:
            self.raised = KeyboardInterrupt("SIGTERM")
            raise self.raised


class _Watcher:
    """Reads the numbers of the signals that arrive, from Python's wakeup descriptor."""

    def __init__(self, act: Any, reader: socket.socket, writer: socket.socket) -> None:
        self._reader, self._writer = reader, writer
        self._closing = False  # then the handler may be the previous one: never signal
        self._thread = threading.Thread(
            target=self._run, args=(act,), name="harness-sigterm", daemon=True
        )
        self._thread.start()

    @classmethod
    def start(cls, act: Any) -> _Watcher | None:
        """A watcher, or None when something else (an asyncio loop) owns the wakeup descriptor:
        then the handler alone acts, when the main thread runs it."""
        reader, writer = socket.socketpair()
        writer.setblocking(False)
        previous = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        if previous != -1:
            signal.set_wakeup_fd(previous)
            reader.close()
            writer.close()
            return None
        return cls(act, reader, writer)

    def _run(self, act: Any) -> None:
        woken = False
        with self._reader:
            while True:
                try:
                    data = self._reader.recv(64)
                except OSError:
                    return
                if not data:  # close(): the run is over
                    return
                if signal.SIGTERM in data:
                    # the main thread first: its KeyboardInterrupt then lands before any result
                    # the stop below cuts short reaches a test
                    if not woken and not self._closing:  # once: it comes back here too
                        woken = True
                        main = threading.main_thread().ident
                        if main is not None:
                            signal.pthread_kill(main, signal.SIGTERM)
                    act()

    def close(self) -> None:
        self._closing = True
        signal.set_wakeup_fd(-1)
        self._writer.close()  # the watcher reads end-of-file and ends
        self._thread.join(timeout=5)


def children_of(pid: int) -> list[int]:
    """The live child processes of `pid` (Linux: from /proc; elsewhere none are found)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # ended meanwhile
            continue
        # "pid (name) state ppid ...": the name may hold spaces and parentheses
        fields = text.rpartition(")")[2].split()
        if len(fields) > 1 and fields[1] == str(pid) and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found
