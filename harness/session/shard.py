"""--shard K/N: a deterministic, balanced split of targets across CI matrix jobs."""

from __future__ import annotations

import os
from collections.abc import Mapping
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


def assign(weights: Mapping[str, int], total: int) -> dict[str, int]:
    """Target name -> shard (1-based). Heaviest first onto the lightest shard; ties by name.

    Depends only on the names and weights, so every job of a matrix computes the same split.
    """
    load = [0] * total
    out: dict[str, int] = {}
    for name in sorted(weights, key=lambda n: (-weights[n], n)):
        shard = min(range(total), key=lambda i: (load[i], i))
        load[shard] += max(1, weights[name])
        out[name] = shard + 1
    return out


def targets_of(inventory: Inventory, spec: str) -> set[str]:
    """The names of the targets that shard `spec` runs, weighted by the tests each brings."""
    index, total = parse(spec)
    weights = {
        t.name: len(t.tls) + len(t.logins) + 2 * (t.ports is not None) for t in inventory.targets
    }
    return {name for name, k in assign(weights, total).items() if k == index}
