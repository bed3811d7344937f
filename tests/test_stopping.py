"""probes.stopping on real sockets and processes: after stop() no connection, datagram or child
process leaves the process, a read blocked on a connection of the run wakes, a child that
ignores SIGTERM is killed after the grace, and a probe waiting at the host gate gets Stopped."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from harness.probes import stopping
from harness.probes.hostgate import GATE


@pytest.fixture(autouse=True)
def armed() -> Iterator[None]:
    stopping.arm()
    yield
    stopping.disarm()


def _in_thread(work: object) -> tuple[threading.Thread, list[object]]:
    """Run work() in a (non-main) thread, as a probe would; its result or exception lands in
    the list."""
    out: list[object] = []

    def run() -> None:
        try:
            out.append(work())  # type: ignore[operator]
        except BaseException as exc:
            out.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def test_stop_cuts_the_connection_under_way_and_refuses_new_ones() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port), timeout=30)
        server_side, _ = listener.accept()
        reader, got = _in_thread(lambda: client.recv(10))  # the server never answers
        time.sleep(0.2)
        began = time.monotonic()
        stopping.stop()
        reader.join(5)
        assert got == [b""] and time.monotonic() - began < 2  # woke at once, at end of file

        with pytest.raises(stopping.Stopped, match="the run is stopping"):
            socket.create_connection(("127.0.0.1", port), timeout=5)
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with pytest.raises(stopping.Stopped):
            udp.sendto(b"x", ("127.0.0.1", port))
        listener.settimeout(0.3)
        with pytest.raises(TimeoutError):
            listener.accept()  # nothing reached the listener after the stop

        stopping.disarm()  # the next run connects again
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        for sock in (client, server_side, udp):
            sock.close()


def test_the_threads_of_a_stopped_run_stay_refused_until_the_next_run() -> None:
    # pytest ends the session (and disarms) while a probe thread may still be starting its
    # work, or starting threads of its own; the interpreter then waits for them at exit, so
    # none may connect anew
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        stopping.stop()
        stopping.disarm()
        late, got = _in_thread(lambda: socket.create_connection(("127.0.0.1", port), timeout=5))
        late.join(5)
        assert isinstance(got[0], stopping.Stopped), got
        socket.create_connection(("127.0.0.1", port), timeout=5).close()  # pytest's own thread
        stopping.arm()  # the next run starts afresh
        fresh, got = _in_thread(lambda: socket.create_connection(("127.0.0.1", port), timeout=5))
        fresh.join(5)
        assert isinstance(got[0], socket.socket), got
        got[0].close()


def test_a_socket_that_is_not_the_runs_is_left_alone() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        before = socket.socket()
        stopping.disarm()
        before.connect(listener.getsockname())  # connected outside the run: not tracked
        stopping.arm()
        peer, _ = listener.accept()
        stopping.stop()
        peer.sendall(b"still here")
        assert before.recv(10) == b"still here"
        for sock in (before, peer):
            sock.close()


IGNORES_SIGTERM = (
    "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ready', flush=True); time.sleep(60)"
)


def test_stop_ends_a_child_that_ignores_sigterm_after_the_grace() -> None:
    child, got = _in_thread(lambda: stopping.run_child([sys.executable, "-c", IGNORES_SIGTERM], 60))
    end = time.monotonic() + 30
    while not stopping._children and time.monotonic() < end:
        time.sleep(0.05)
    (proc,) = stopping._children
    time.sleep(1.0)  # the child has set its SIGTERM handler
    began = time.monotonic()
    stopping.stop()
    took = time.monotonic() - began
    child.join(5)
    assert got and got[0][0] == -9, got  # type: ignore[index]  # killed
    assert stopping.GRACE_SECONDS <= took < stopping.GRACE_SECONDS + 2
    assert proc.poll() is not None  # reaped: no zombie, nothing left running

    refused, got = _in_thread(lambda: stopping.run_child([sys.executable, "-c", "pass"], 10))
    refused.join(5)
    assert isinstance(got[0], stopping.Stopped)


def test_a_probe_waiting_at_the_host_gate_gets_stopped() -> None:
    def hold_second_slot() -> str:
        with GATE.hold("127.0.0.9", 1, 1):
            return "got a slot"

    with GATE.hold("127.0.0.9", 1, 1):
        waiter, got = _in_thread(hold_second_slot)
        time.sleep(0.2)
        assert not got  # waiting for the only slot
        stopping.stop()
        waiter.join(5)
    assert len(got) == 1 and isinstance(got[0], stopping.Stopped)
    with pytest.raises(stopping.Stopped):
        with GATE.hold("127.0.0.10", 1, 5):  # a free slot, but the run is stopping
            pass


def test_subprocesses_of_the_main_thread_still_run_after_stop() -> None:
    """pytest's thread writes the Allure environment (`nmap --version`) after the signal."""
    stopping.stop()
    assert subprocess.run([sys.executable, "-c", "pass"], timeout=30).returncode == 0
