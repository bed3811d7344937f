"""The order in which the login budget is spent: a pure function, tested on its own."""

from __future__ import annotations

import pytest

from harness.data import passwords
from harness.inventory import loads
from harness.probes.logins import lists
from harness.probes.logins.lists import Candidate, interleave
from harness.probes.logins.model import Category

# pairs a budget of 10 leaves: less the control and the confirmation reserve, and for ssh the
# 'none' method attempt too (tests/test_logins_openssh.py counts them on a real sshd)
PAIRS_AT_10 = {"http-basic": 8, "ssh": 7}


def endpoint(kind: str, usernames: list[str] | None = None, extra: str = "") -> lists.Lists:
    where = "url: https://127.0.0.1/admin" if kind.startswith("http") else "port: 22"
    users = f", usernames: [{', '.join(usernames)}]" if usernames else ""
    inv = loads(
        "version: 1\ntargets:\n  - name: t\n    host: 127.0.0.1\n    logins:\n"
        f"      - {{kind: {kind}, {where}{users}{extra}}}\n"
    )
    return lists.lists_for(inv.targets[0].logins[0], None)


def tried(found: lists.Lists, pairs: int) -> set[tuple[str, str]]:
    return {(c.username, c.password) for c in found.plan()[:pairs]}


@pytest.mark.parametrize("kind", ["http-basic", "ssh"])
def test_one_declared_user_gets_the_top_4_weak_passwords_and_vendor_pairs(kind: str) -> None:
    found = endpoint(kind, ["operator"])
    done = tried(found, PAIRS_AT_10[kind])
    assert found.depth(done)["operator"] >= 4
    assert found.counts(done)[0]["default"] >= 2
    assert found.vendor_met(done) and found.weak_met(done)


@pytest.mark.parametrize("kind", ["http-basic", "ssh"])
def test_two_users_reach_both_minimums_at_the_default_budget(kind: str) -> None:
    """Two usernames at budget 10: every list's minimum (top 3 each, one vendor pair). The top 4
    for both would take 8 weak pairs, all an HTTP budget of 10 leaves and more than ssh's."""
    found = endpoint(kind, ["operator", "deploy"])
    done = tried(found, PAIRS_AT_10[kind])
    depth = found.depth(done)
    assert min(depth.values()) == 3 and set(depth) == {"operator", "deploy"}
    assert found.vendor_met(done) and found.weak_met(done)


def test_default_ssh_usernames_reach_both_minimums_at_the_default_budget() -> None:
    found = endpoint("ssh")
    assert found.usernames == ["root", "admin"]
    done = tried(found, PAIRS_AT_10["ssh"])
    assert found.vendor_met(done) and found.weak_met(done)


def test_one_pair_short_of_a_minimum_is_not_met() -> None:
    found = endpoint("ssh", ["operator", "deploy"])
    done = tried(found, PAIRS_AT_10["ssh"] - 1)
    assert not found.weak_met(done) and found.vendor_met(done)
    assert not found.vendor_met(set())


def test_weak_list_is_password_major_over_the_declared_users() -> None:
    found = endpoint("http-basic", ["a", "b"])
    weak = [c for c in found.plan() if c.category is Category.WEAK]
    words = passwords.weak_passwords()
    assert [(c.username, c.password) for c in weak[:4]] == [
        ("a", words[0]),
        ("b", words[0]),
        ("a", words[1]),
        ("b", words[1]),
    ]


def _cands(category: Category, *names: str) -> list[Candidate]:
    return [Candidate(n.split("/")[0], n.split("/")[1], category, "test") for n in names]


def test_interleave_minimums_first_then_turns() -> None:
    vendor = _cands(Category.DEFAULT, "v/1", "v/2", "v/3", "v/4")
    weak = [_cands(Category.WEAK, f"a/w{i}", f"b/w{i}") for i in range(1, 6)]
    order = [f"{c.username}/{c.password}" for c in interleave(vendor, weak)]
    assert order == [
        *("a/w1", "b/w1"),  # the top weak password for every user
        "v/1",  # the vendor minimum
        *("a/w2", "b/w2", "a/w3", "b/w3"),  # the weak minimum
        *("a/w4", "b/w4", "v/2"),  # then one turn each
        *("a/w5", "b/w5", "v/3"),
        "v/4",  # one list spent: the other goes on alone
    ]


def test_a_pair_on_both_lists_is_tried_once_and_the_vendor_turn_moves_on() -> None:
    vendor = _cands(Category.DEFAULT, "admin/password", "admin/admin")
    weak = [_cands(Category.WEAK, f"admin/{w}") for w in ("123456", "password", "x", "y")]
    plan = interleave(vendor, weak)
    pairs = [(c.username, c.password) for c in plan]
    assert len(pairs) == len(set(pairs)) == 5
    assert pairs[1] == ("admin", "password") and plan[1].category is Category.DEFAULT
    assert ("admin", "admin") in pairs


def test_declared_credentials_come_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_PLAN_PW", "Corp-secret")
    found = endpoint(
        "ssh", ["ops"], ", credentials: [{username: ops, password_env: HARNESS_PLAN_PW}]"
    )
    first = found.plan()[0]
    assert first.category is Category.DECLARED and not first.public
    assert found.counts({("ops", "Corp-secret")})[0]["declared"] == 1
