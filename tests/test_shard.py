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


def test_every_target_in_exactly_one_shard_and_balanced_at_fleet_size() -> None:
    names = [f"host-{i:04d}" for i in range(2000)]
    split = assign(names, 7)
    assert set(split) == set(names) and set(split.values()) == set(range(1, 8))
    counts = [sum(1 for k in split.values() if k == shard) for shard in range(1, 8)]
    assert max(counts) < 1.15 * 2000 / 7 and min(counts) > 0.85 * 2000 / 7, counts
    assert assign(list(reversed(names)), 7) == split  # order-independent


def test_adding_or_removing_targets_moves_no_other_target() -> None:
    fleet = [f"web-{i:03d}" for i in range(300)]
    before = assign(fleet, 4)
    grown = assign([*fleet[:150], "new-a", *fleet[150:], "new-b", "zz-new"], 4)
    assert {n: grown[n] for n in fleet} == before
    shrunk = assign(fleet[::2], 4)
    assert {n: before[n] for n in fleet[::2]} == shrunk


def test_one_more_shard_moves_targets_only_onto_it() -> None:
    fleet = [f"db-{i:03d}" for i in range(600)]
    three, four = assign(fleet, 3), assign(fleet, 4)
    moved = [n for n in fleet if three[n] != four[n]]
    assert all(four[n] == 4 for n in moved)
    assert 0.15 * 600 < len(moved) < 0.35 * 600  # about a quarter
