"""Whether a thread is waiting at the host gate, read from its stack (the gate itself keeps no
count for tests)."""

from __future__ import annotations

import sys
import threading

from harness.probes import hostgate


def waiting_in_the_gate(thread: threading.Thread) -> bool:
    """The thread is blocked on the gate's condition, inside HostGate.hold."""
    frame = sys._current_frames().get(thread.ident or -1)
    names = []
    while frame is not None:
        names.append((frame.f_code.co_filename, frame.f_code.co_name))
        frame = frame.f_back
    return bool(names) and names[0][1] == "wait" and (hostgate.__file__, "hold") in names
