"""The shard split is deterministic, balanced and reads each CI engine's variables."""

from __future__ import annotations

import pytest

from harness.session.shard import ShardError, assign, parse


def test_parse_explicit_and_auto() -> None:
    assert parse("2/4", {}) == (2, 4)
    assert parse("auto", {"CI_NODE_INDEX": "1", "CI_NODE_TOTAL": "3"}) == (1, 3)
    assert parse("auto", {"JOB_COMPLETION_INDEX": "0", "HARNESS_SHARD_TOTAL": "5"}) == (1, 5)
    assert parse("auto", {"HARNESS_SHARD_INDEX": "2", "HARNESS_SHARD_TOTAL": "2"}) == (2, 2)
    with pytest.raises(ShardError, match="HARNESS_SHARD_TOTAL"):
        parse("auto", {"JOB_COMPLETION_INDEX": "0"})


def test_every_target_in_exactly_one_shard_and_balanced() -> None:
    weights = {f"host-{i:03d}": 1 + (i % 4) for i in range(200)}
    split = assign(weights, 7)
    assert set(split) == set(weights)
    loads = [sum(w for n, w in weights.items() if split[n] == k) for k in range(1, 8)]
    assert max(loads) - min(loads) <= max(weights.values())
    assert assign(dict(reversed(list(weights.items()))), 7) == split  # order-independent
