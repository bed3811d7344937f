"""Files a run leaves for others to read (the summary JSON, the known-findings file), written
whole or not at all: a full disk must never leave a truncated file that parses as a result."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from harness.redact import REDACTOR


def write_text(path: Path, text: str) -> None:
    """Write `text` to a temporary file beside `path`, fsync it, then rename it over `path`.

    A reader sees the old file or the new one. On any failure the temporary file is removed,
    `path` is left as it was, and the OSError is raised for the caller to name the path. A path
    that is a stream (`--summary-json /dev/stdout`) is written to directly. Text leaving the
    process here passes the masking boundary first (harness.redact)."""
    text = REDACTOR(text)
    if path.exists() and not path.is_file():
        # /dev/stdout, a FIFO: a stream, written as it is (renaming over it would replace it)
        with path.open("w", encoding="utf-8") as stream:
            stream.write(text)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    # beside the target, so the rename stays on one file system; created by os.open so the
    # mode follows the umask like any other output file
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
