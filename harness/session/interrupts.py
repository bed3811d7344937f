"""SIGTERM (a cancelled CI job, `kill`) ends a harness run like Ctrl-C: pytest finishes the
session, so the summary is printed and allure-results is complete. Python's default would end
the process on the spot. A second SIGTERM gets the previous handler."""

from __future__ import annotations

import signal
import threading
from typing import Any


class SigtermAsInterrupt:
    def __init__(self) -> None:
        self._previous: Any = None
        self.installed = False

    def install(self) -> None:
        if self.installed or threading.current_thread() is not threading.main_thread():
            return

        def _on_sigterm(signum: int, frame: Any) -> None:
            signal.signal(signal.SIGTERM, self._previous)
            raise KeyboardInterrupt("SIGTERM")

        previous = signal.signal(signal.SIGTERM, _on_sigterm)
        self._previous = (
            signal.SIG_DFL if previous is None else previous
        )  # None: set outside Python
        self.installed = True

    def restore(self) -> None:
        if self.installed:
            signal.signal(signal.SIGTERM, self._previous)
            self.installed = False
