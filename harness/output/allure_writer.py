"""Allure result files written by a background thread, so the tests never wait on the disk.

allure-pytest writes each result file on the main thread: open, write, close and rename, each
releasing the GIL. While the probes' threads are busy, taking the GIL back after each of those
costs up to a switch interval (5 ms), so at 200 endpoints the tests spent 11 to 23 s of a
50-75 s run writing 4,400 files, and the last verdict came 10 to 30 s after the last probe
result. Here the main thread only turns the result into plain data (a snapshot, so later
changes to the live object cannot leak in) and queues it; one thread serialises and writes.

Nothing is lost: the files are the ones allure-pytest would write, written the same way (a
temporary name, then a rename); the plugin drains the queue before it writes the run-level
files or drops a partial run, and a failed write is raised there, failing the run loudly.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import threading
import uuid
from typing import Any

from allure_commons import hookimpl
from allure_commons.logger import INDENT, AllureFileLogger
from attr import asdict

from harness.redact import REDACTOR

BACKLOG = 2_000  # queued files; past it the tests wait, so memory stays bounded


class AllureWriteError(RuntimeError):
    """A result file could not be written: the run's report would be missing results."""


def _keep(_attribute: Any, value: Any) -> bool:
    return bool(value) or value is False  # allure-pytest's own filter: drop empty fields


class BackgroundFileLogger(AllureFileLogger):
    """allure-pytest's file logger, with the writes moved to one background thread."""

    def __init__(self, report_dir: str, clean: bool = False) -> None:
        super().__init__(report_dir, clean)  # type: ignore[no-untyped-call]
        self._queue: queue.Queue[tuple[str, dict[str, Any] | bytes] | None] = queue.Queue(BACKLOG)
        self._errors: list[str] = []
        self._thread = threading.Thread(target=self._drain, name="allure-writer", daemon=True)
        self._thread.start()
        LIVE.append(self)

    def _report_item(self, item: Any) -> None:
        filename = item.file_pattern.format(prefix=uuid.uuid4())
        self._put(filename, asdict(item, filter=_keep))

    @hookimpl
    def report_attached_data(self, body: str | bytes, file_name: str) -> None:
        self._put(file_name, body.encode("utf-8") if isinstance(body, str) else bytes(body))

    def _put(self, filename: str, payload: dict[str, Any] | bytes) -> None:
        if not self._thread.is_alive():  # closed, or never started: write it here
            self._write(filename, payload)
            return
        self._queue.put((filename, payload))  # a snapshot: serialised on the writer's thread

    def _write(self, filename: str, payload: dict[str, Any] | bytes) -> None:
        # the masking boundary for every result and attachment file: written here, or nowhere
        data = REDACTOR.data(payload if isinstance(payload, bytes) else _json(payload))
        tmp = self._report_dir / f"{filename}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, self._report_dir / filename)

    def _drain(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                try:
                    self._write(*item)
                except OSError as exc:
                    self._errors.append(f"{item[0]}: {exc}")
            finally:
                self._queue.task_done()

    def flush(self) -> None:
        """Wait until every queued file is on disk; raise if any could not be written."""
        if self._thread.is_alive():
            self._queue.join()
        if self._errors:
            errors, self._errors = self._errors, []
            raise AllureWriteError(
                f"{len(errors)} Allure result file(s) could not be written to "
                f"{self._report_dir} (first: {errors[0]}); the report would miss those "
                "results. Free space or fix permissions there, then rerun."
            )

    def close(self) -> None:
        """Stop the thread once the queue is written; later writes happen on the caller's
        thread. Reached after the session's flush, so an error here is one written later: said
        on stderr, as nothing is left to fail."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if self in LIVE:
            LIVE.remove(self)
        for error in self._errors:
            print(f"harness: Allure result file not written: {error}", file=sys.stderr)


def _json(data: dict[str, Any]) -> bytes:
    # one dumps and one write, where json.dump would write each fragment separately
    indent = INDENT if os.environ.get("ALLURE_INDENT_OUTPUT") else None
    return json.dumps(data, indent=indent, ensure_ascii=False).encode("utf-8")


LIVE: list[BackgroundFileLogger] = []


def flush_all() -> None:
    """Drain every live writer (the session's end, before the run-level files)."""
    for logger in list(LIVE):
        logger.flush()


def close_all() -> None:
    for logger in list(LIVE):
        logger.close()


def install() -> bool:
    """Make allure-pytest create this logger for --alluredir (it looks the class up in its
    module when it configures, which our tryfirst pytest_configure precedes). False when
    allure-pytest is not there or no longer has that name: its own logger is used then."""
    try:
        from allure_pytest import plugin as allure_plugin
    except ImportError:
        return False
    if getattr(allure_plugin, "AllureFileLogger", None) is None:
        return False
    allure_plugin.AllureFileLogger = BackgroundFileLogger
    return True
