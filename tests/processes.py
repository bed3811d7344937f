"""The live processes whose argv names a text (a test's own loopback address): how the SIGTERM
tests find the nmap a run started, and make sure none is left behind."""

from __future__ import annotations

from pathlib import Path


def processes_naming(text: str) -> list[tuple[int, str]]:
    """(pid, argv) of every live process whose argv holds `text` (zombies have no argv)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(text.encode() == a for a in argv):
            found.append((int(entry.name), b" ".join(argv).decode(errors="replace")))
    return found
