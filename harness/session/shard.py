"""--shard K/N: a deterministic split of targets across CI matrix jobs that keeps each target
in its shard when the fleet changes.

A target's shard depends on its name alone (rendezvous hashing: the shard whose hash with the
name is highest), so adding or removing a target moves no other target, and a target's
known-findings history (kept per shard) stays with it. Going from N to N+1 shards moves only
the targets the new shard wins, about 1/(N+1) of them. The split is balanced by count in
expectation, not exactly: at fleet size (thousands of targets) the shards differ by a few
percent; a shard of a small fleet may get no target, which is a finished, empty run.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.inventory import Inventory


class ShardError(ValueError):
    pass


def parse(spec: str, env: Mapping[str, str] | None = None) -> tuple[int, int]:
    """'2/4' -> (2, 4), 1-based. 'auto' reads the index and total from the CI engine."""
    env = os.environ if env is None else env
    if spec == "auto":
        if "CI_NODE_INDEX" in env and "CI_NODE_TOTAL" in env:  # GitLab `parallel:`, 1-based
            return _check(env["CI_NODE_INDEX"], env["CI_NODE_TOTAL"], spec)
        if "JOB_COMPLETION_INDEX" in env:  # Kubernetes indexed Jobs, 0-based
            total = env.get("HARNESS_SHARD_TOTAL")
            if total is None:
                raise ShardError(
                    "--shard auto: JOB_COMPLETION_INDEX is set but the total is not; "
                    "set HARNESS_SHARD_TOTAL to the Job's completions"
                )
            return _check(str(int(env["JOB_COMPLETION_INDEX"]) + 1), total, spec)
        if "HARNESS_SHARD_INDEX" in env and "HARNESS_SHARD_TOTAL" in env:  # GitHub matrix
            return _check(env["HARNESS_SHARD_INDEX"], env["HARNESS_SHARD_TOTAL"], spec)
        raise ShardError(
            "--shard auto found no CI shard variables: set CI_NODE_INDEX/CI_NODE_TOTAL (GitLab),"
            " JOB_COMPLETION_INDEX + HARNESS_SHARD_TOTAL (Kubernetes) or"
            " HARNESS_SHARD_INDEX/HARNESS_SHARD_TOTAL (GitHub matrix)"
        )
    index, sep, total = spec.partition("/")
    if not sep:
        raise ShardError(f"--shard {spec!r}: expected K/N, for example 2/4, or auto")
    return _check(index, total, spec)


def _check(index: str, total: str, spec: str) -> tuple[int, int]:
    try:
        k, n = int(index), int(total)
    except ValueError:
        raise ShardError(f"--shard {spec!r}: index and total must be whole numbers") from None
    if not 1 <= k <= n:
        raise ShardError(f"--shard {spec!r}: need 1 <= K <= N (got {k}/{n})")
    return k, n


def _score(name: str, shard: int) -> int:
    digest = hashlib.sha256(f"{shard}\0{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def assign(names: Iterable[str], total: int) -> dict[str, int]:
    """Target name -> shard (1-based): the shard with the highest score for the name."""
    return {n: max(range(1, total + 1), key=lambda k: _score(n, k)) for n in names}


def targets_of(inventory: Inventory, spec: str) -> set[str]:
    """The names of the targets that shard `spec` runs."""
    index, total = parse(spec)
    return {n for n, k in assign((t.name for t in inventory.targets), total).items() if k == index}
