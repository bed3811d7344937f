"""SIGTERM (a cancelled CI job, `kill`) ends a harness run like Ctrl-C, only sooner.

At the signal the probes are stopped (probes.stopping: no new connection or child process, the
connections under way cut, nmap ended), so the run exits within seconds instead of waiting for
the probes' work to run out. While tests run, the signal also becomes a KeyboardInterrupt, once:
pytest then finishes the session, so the summary is printed and allure-results is complete.

Once the session is finishing (`finishing()`: summary, Allure files, unconfigure) an exception
would only cut that work short and end in a traceback, so a SIGTERM then is recorded
(`received`) and the session sets exit status 2 ("interrupted") itself. Python's default would
end the process on the spot; the previous handler is back after `restore()`.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from harness.probes import stopping


class SigtermAsInterrupt:
    def __init__(self) -> None:
        self._previous: Any = None
        self.installed = False
        self.received = False  # a SIGTERM came during this run
        self._raise = True  # while tests run: the first SIGTERM interrupts pytest

    def install(self) -> None:
        if self.installed or threading.current_thread() is not threading.main_thread():
            return

        def _on_sigterm(signum: int, frame: Any) -> None:
            first = not self.received
            self.received = True
            stopping.stop()
            if first and self._raise:
                raise KeyboardInterrupt("SIGTERM")

        stopping.arm()
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
        self._previous = (
            signal.SIG_DFL if previous is None else previous
        )  # None: set outside Python
        self.received = False
        self._raise = True
        self.installed = True

    def finishing(self) -> None:
        """The session is finishing: from now on a SIGTERM is recorded, never raised."""
        self._raise = False

    def restore(self) -> None:
        if self.installed:
            signal.signal(signal.SIGTERM, self._previous)
            self.installed = False
            stopping.disarm()
