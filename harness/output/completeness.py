"""Was the run behind a results folder complete? Read from its run manifests (harness.manifest).

Every consumer asks this before it reports: a folder without a manifest, with a manifest that
never finished, with a shard missing, with an interrupted run or a subject that could not be
measured is incomplete, and says why. For an incomplete run the last known findings of what
was not measured are carried forward, so a dashboard that closes what it no longer sees keeps
them open.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from harness import manifest
from harness.manifest import KnownFinding, Manifest
from harness.output import allure_files


@dataclass(frozen=True)
class Unmeasured:
    subject: str
    target: str
    reason: str
    line: int | None


@dataclass(frozen=True)
class Carried:
    """A known finding emitted again: its subject was not measured this run."""

    finding: KnownFinding
    target: str
    line: int | None
    targets_file: str


@dataclass
class Assessment:
    manifests: list[Manifest] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # about the run as a whole
    unmeasured: list[Unmeasured] = field(default_factory=list)
    carried: list[Carried] = field(default_factory=list)
    stands_in: bool = True  # every expected subject's findings are known: measured or carried

    @property
    def complete(self) -> bool:
        return not self.problems and not self.unmeasured

    def status(self) -> str:
        """One line: 'complete', or 'incomplete: ...' with the first reasons."""
        if self.complete:
            return "complete"
        parts = list(self.problems)
        if self.unmeasured:
            n = len(self.unmeasured)
            parts.append(f"{n} subject{'s' if n != 1 else ''} could not be measured")
        if self.carried:
            parts.append(f"{len(self.carried)} known findings carried forward, not re-measured")
        return "incomplete: " + "; ".join(parts)


def _shard_label(m: Manifest) -> str:
    return f"shard {m.shard[0]}/{m.shard[1]}" if m.shard else f"run {m.run_id}"


def assess(results_dir: Path, emitted: Iterable[str] = ()) -> Assessment:
    """`emitted`: the finding ids the results folder itself holds (never carried twice)."""
    out = Assessment()
    seen = set(emitted)
    for path in manifest.paths(results_dir):
        try:
            out.manifests.append(Manifest.from_json(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            out.problems.append(f"the run manifest {path.name} cannot be read ({exc})")
            out.stands_in = False
    if not out.manifests and not out.problems:
        out.problems.append(
            f"no run manifest in {results_dir}: the run was killed before its tests were "
            "collected, or the results were not written by this harness's pytest plugin"
        )
        out.stands_in = False
    totals = {m.shard[1] for m in out.manifests if m.shard}
    have = {m.shard for m in out.manifests if m.shard}
    for n in sorted(totals):
        for i in range(1, n + 1):
            if (i, n) not in have:
                out.problems.append(f"shard {i}/{n} left no run manifest (its results are missing)")
                out.stands_in = False
    for m in out.manifests:
        who = _shard_label(m)
        if not m.finished:
            out.problems.append(
                f"{who} did not finish (started {m.started}): it was killed, or its results "
                "folder could not be written"
            )
            carried = [k for k in m.known if k.id not in seen]  # nothing is known measured
        else:
            if m.interrupted:
                out.problems.append(f"{who} was interrupted (exit status {m.exit_status})")
            for subject, reason in sorted(m.unmeasured.items()):
                out.unmeasured.append(
                    Unmeasured(subject, m.targets.get(subject, ""), reason, m.lines.get(subject))
                )
            still = set(m.carried_forward)
            carried = [k for k in m.known if k.id in still and k.id not in seen]
        for k in carried:
            seen.add(k.id)
            out.carried.append(
                Carried(k, m.targets.get(k.subject, ""), m.lines.get(k.subject), m.targets_file)
            )
    return out


def mark_environment(results: Path, assessed: Assessment) -> None:
    """environment.properties (Allure's environment widget) says what the manifests say,
    also for a run killed before it wrote its own, or shards that each wrote one."""
    props = allure_files.read_environment(results)
    props["run.status"] = assessed.status()
    try:
        allure_files.write_environment(results, props)
    except OSError as exc:
        print(f"could not mark {results} incomplete ({exc})", file=sys.stderr)


def verdict(assessed: Assessment, who: str) -> int:
    """1 when the run behind the report was incomplete: the report is built, and says so."""
    if assessed.complete:
        return 0
    print(f"{who}: the run is {assessed.status()}", file=sys.stderr)
    return 1
