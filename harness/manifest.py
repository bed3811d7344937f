"""The run manifest: what a run set out to measure and what became of it, in the results folder.

The plugin writes it when the run's tests are known (marked not finished) and again when the
run ends, each time whole and renamed into place, so a run killed at any point leaves a
manifest that says so. Every consumer of the results folder (`harness sarif`, `harness report`,
CI) reads it: results without a finished, complete manifest never read as a clean run.

One file per run (`harness-run-<id>.json`), so the shards of a CI matrix copied into one folder
keep one manifest each; a shard's manifest names its shard, so a shard that is missing shows.
The manifest also holds the last known findings of the subjects the run was to measure (from
--known-findings), so a subject that could not be measured keeps its findings open downstream.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness import atomic

FORMAT = 1
PREFIX = "harness-run-"


@dataclass(frozen=True)
class KnownFinding:
    """A finding the previous runs found on a subject of this run (from --known-findings)."""

    id: str
    check: str
    subject: str
    first_seen: str
    last_seen: str | None = None  # None: written before the findings file kept it


@dataclass
class Manifest:
    run_id: str
    started: str
    targets_file: str
    targets_sha256: str
    shard: tuple[int, int] | None = None  # (K, N) of --shard
    expected: list[str] = field(default_factory=list)  # subject keys the run was to measure
    lines: dict[str, int] = field(default_factory=dict)  # subject key -> declaring line
    targets: dict[str, str] = field(default_factory=dict)  # subject key -> target name
    known: list[KnownFinding] = field(default_factory=list)
    finished: bool = False
    ended: str | None = None
    measured: list[str] = field(default_factory=list)
    unmeasured: dict[str, str] = field(default_factory=dict)  # subject key -> reason
    interrupted: bool = False
    exit_status: int | None = None
    carried_forward: list[str] = field(default_factory=list)  # ids of `known` still open
    # per discovered target: its found ports and what examined each (harness.coverage.PortRow)
    coverage: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def file_name(self) -> str:
        return f"{PREFIX}{self.run_id}.json"

    @property
    def complete(self) -> bool:
        return self.finished and not self.unmeasured and not self.interrupted

    def to_json(self) -> str:
        data = asdict(self)
        data["format"] = FORMAT
        data["shard"] = f"{self.shard[0]}/{self.shard[1]}" if self.shard else None
        return json.dumps(data, indent=2)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Raises ValueError on anything that is not a manifest of this format."""
        data: Any = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("not a harness run manifest of format 1")
        try:
            shard = None
            if data.get("shard"):
                k, _, n = str(data["shard"]).partition("/")
                shard = (int(k), int(n))
            return cls(
                run_id=str(data["run_id"]),
                started=str(data["started"]),
                targets_file=str(data["targets_file"]),
                targets_sha256=str(data["targets_sha256"]),
                shard=shard,
                expected=[str(s) for s in data.get("expected", [])],
                lines={str(k): int(v) for k, v in data.get("lines", {}).items()},
                targets={str(k): str(v) for k, v in data.get("targets", {}).items()},
                known=[KnownFinding(**k) for k in data.get("known", [])],
                finished=bool(data.get("finished")),
                ended=data.get("ended"),
                measured=[str(s) for s in data.get("measured", [])],
                unmeasured={str(k): str(v) for k, v in data.get("unmeasured", {}).items()},
                interrupted=bool(data.get("interrupted")),
                exit_status=data.get("exit_status"),
                carried_forward=[str(s) for s in data.get("carried_forward", [])],
                coverage={str(k): list(v) for k, v in data.get("coverage", {}).items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"damaged run manifest: {exc}") from None


def sha256_of(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "unreadable"


def write(results_dir: Path, manifest: Manifest) -> None:
    """Whole or not at all (harness.atomic: a temporary file, flushed, renamed over the old)."""
    atomic.write_text(results_dir / manifest.file_name, manifest.to_json())


def paths(results_dir: Path) -> list[Path]:
    return sorted(results_dir.glob(f"{PREFIX}*.json"))


def earlier_run(results_dir: Path) -> str | None:
    """What of an earlier run the folder holds (a manifest or result files), or None."""
    if not results_dir.is_dir():
        return None
    found = paths(results_dir)
    if found:
        return f"the run manifest {found[0].name}"
    result = next(results_dir.glob("*-result.json"), None)
    return f"the result file {result.name}" if result is not None else None
