"""The shipped password data: the weak-password list and the password policies.

Pure data, read once: the logins probe plans its guesses from it, and the logins policy judges
passwords against it, so it lives here rather than in either (importing the policy must not load
the probe's clients, see tests/test_layout.py).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from harness.data import load_yaml


@cache
def _shipped(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = load_yaml(
        resources.files("harness.data").joinpath(name).read_text(encoding="utf-8")
    )
    return loaded


def weak_passwords() -> list[str]:
    """The shipped weak-password list, likeliest first (weak_passwords.yaml)."""
    return [str(p) for p in _shipped("weak_passwords.yaml")["passwords"]]


def policy_data() -> dict[str, Any]:
    """The password policies, their blocklist additions and samples (password_policies.yaml)."""
    return _shipped("password_policies.yaml")
