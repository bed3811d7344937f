"""A recording stand-in for the runner's ProbeContext, to drive one probe directly in a test."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from harness.inventory import Inventory


@dataclass
class RecordingContext:
    """publish, progress and attach are recorded; result_of answers from `ports`."""

    inventory: Inventory
    ports: dict[str, Any] = field(default_factory=dict)  # what result_of("ports", key) answers
    results: dict[str, Any] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    evidence: list[tuple[str, str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def begin(self, key: str) -> None:
        pass  # timings are the runner's business

    def publish(self, key: str, result: Any) -> None:
        with self.lock:
            assert key not in self.results, f"{key} published twice"
            self.results[key] = result

    def progress(self, message: str) -> None:
        self.lines.append(message)

    def result_of(self, probe: str, key: str) -> Any:
        assert probe == "ports", f"only the ports result is recorded, not {probe}"
        return self.ports[key]

    def attach(self, key: str, name: str, body: str | bytes, mime: str) -> None:
        self.evidence.append((key, name, str(body)))
