"""Judging what the logins probe measured. Pure functions: a login result in, a Verdict out;
a part the check needs that was not measured (or guessing stopped short of the check's minimum)
raises CouldNotMeasure, so the test ends broken, never passed.

The password-policy rules are data (harness/data/password_policies.yaml); the blocklist is the
shipped weak-password list plus that file's extra entries.
"""

from __future__ import annotations

import string
from dataclasses import replace
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from harness.checks import Area, check, judged_by_default
from harness.data import passwords
from harness.errors import CouldNotMeasure, FailureKind, ProbeFailure
from harness.inventory import LoginEndpoint
from harness.outcome import Verdict
from harness.probes.logins.model import (
    Category,
    Guesses,
    LoginResult,
    left_behind,
    require,
)
from harness.subject import Subject

_CLASSES = {
    "lower": ("a lower-case letter", str.islower),
    "upper": ("an upper-case letter", str.isupper),
    "digit": ("a digit", str.isdigit),
    "punctuation": ("punctuation", lambda c: c in string.punctuation or c == " "),
}


def _pairs(g: Guesses, category: Category, noun: str) -> str:
    c = g.coverage
    return f"{c.tried.get(category.value, 0)} of {c.listed.get(category.value, 0)} {noun}"


def _depth(g: Guesses) -> str:
    return ", ".join(f"top {n} for {user}" for user, n in g.coverage.depth.items())


def _coverage(g: Guesses) -> str:
    """'tried 6 of 14 vendor pairs and 4 of 40 weak pairs (top 4 for operator)'."""
    text = (
        f"tried {_pairs(g, Category.DEFAULT, 'vendor pairs')} and "
        f"{_pairs(g, Category.WEAK, 'weak pairs')} ({_depth(g)})"
    )
    if g.coverage.listed.get(Category.DECLARED.value):
        text += f", and {_pairs(g, Category.DECLARED, 'declared credentials')}"
    return text


def _notes(g: Guesses) -> tuple[str, ...]:
    notes = [f"{_coverage(g)}; a random wrong password got {g.control}"]
    if g.stopped and g.hit is None:
        notes.append(g.stopped)
    return (*notes, *g.notes)


def _short(g: Guesses, category: Category, where: str) -> ProbeFailure | None:
    """Broken, not passed, when guessing stopped before the check's own minimum."""
    c = g.coverage
    if category is Category.DEFAULT:
        if c.tried.get(category.value, 0) >= c.vendor_minimum:
            return None
        what = f"{_pairs(g, category, 'vendor pairs')} tried, {c.vendor_minimum} needed"
    else:
        if all(n >= c.weak_minimum for n in c.depth.values()):
            return None
        what = (
            f"{_pairs(g, category, 'weak pairs')} tried ({_depth(g)}; the top "
            f"{c.weak_minimum} for every username are needed)"
        )
    needed = c.needed.get(category.value)
    if g.stopped and "attempt budget" not in g.stopped:
        reason = f"guessing stopped early: {g.stopped}; {what}"
    elif needed:
        reason = (
            f"budget too small: {what}; raise login_attempt_budget to at least {needed} "
            f"(it is {g.budget})"
        )
    else:
        why = "; ".join(g.notes) or "the lists of this endpoint cannot reach that minimum"
        reason = f"{what}; {why}"
    return ProbeFailure(FailureKind.ERROR, where, reason)


@judged_by_default(Area.LOGINS)
def _budget(subject: Subject) -> str:
    return f"judged within a budget of {subject.settings.login_attempt_budget} login attempts"


@check("login.default_credentials")
def default_credentials(result: LoginResult, subject: Subject) -> Verdict:
    g = require(result.guesses)
    if g.hit is not None and g.hit.category is Category.DEFAULT:
        product = f", the default of {g.hit.product}" if g.hit.product else ""
        return Verdict.of(
            f"{g.hit.username} / {g.hit.password} was accepted{product} ({g.hit.detail}; "
            f"listed in {g.hit.source})"
        )
    if g.no_passwords:
        return Verdict(notes=(g.no_passwords, *g.notes))
    if g.hit is None:
        short = _short(g, Category.DEFAULT, subject.where)
        if short is not None:
            raise CouldNotMeasure(short)
    return Verdict(notes=_notes(g))


@check("login.weak_password")
def weak_password(result: LoginResult, subject: Subject) -> Verdict:
    g = require(result.guesses)
    if g.hit is not None and g.hit.category is Category.DEFAULT:
        return Verdict.skip(
            "probing stopped at the first accepted pair, a vendor default "
            "(see login.default_credentials)"
        )
    if g.hit is not None:
        return Verdict.of(
            f"{g.hit.username} / {g.hit.password} was accepted ({g.hit.detail}; "
            f"from {g.hit.source})"
        )
    if g.no_passwords:
        return Verdict(notes=(g.no_passwords, *g.notes))
    short = _short(g, Category.WEAK, subject.where)
    if short is not None:
        raise CouldNotMeasure(short)
    return Verdict(notes=_notes(g))


@check("login.anonymous")
def anonymous(result: LoginResult, subject: Subject) -> Verdict:
    a = require(result.anonymous)
    if a is None:
        return Verdict.skip(
            "no protected URL is declared (protected_url) and the kind has no anonymous login"
        )
    if a.allowed:
        return Verdict.of(f"{a.what} succeeded ({a.detail})")
    return Verdict(notes=(f"{a.what}: {a.detail}",))


@check("login.cleartext")
def cleartext(result: LoginResult, subject: Subject) -> Verdict:
    channel = result.channel
    endpoint = subject.endpoint
    pp = endpoint.password_policy if isinstance(endpoint, LoginEndpoint) else None
    policy_url = pp.url if pp else None
    problems = list(channel.problems)
    if policy_url and urlsplit(policy_url).scheme != "https":
        problems.append(
            f"the password-setting endpoint {policy_url} takes passwords over plain HTTP"
        )
    if problems:
        return Verdict.of(*problems)
    notes = [f"credentials travel over {channel.description}"]
    if channel.host_key:
        pinned = "not pinned" if channel.unverified else "matches the pin"
        notes.append(f"SSH host key {channel.host_key} ({pinned})")
    return Verdict(notes=tuple(notes))


@check("login.lockout")
def lockout(measured: LoginResult, subject: Subject) -> Verdict:
    result = require(measured.lockout)
    if result is None:
        return Verdict.skip("lockout is not checked on this endpoint; opt in with lockout: true")
    if result.skipped:
        return Verdict.skip(f"no lockout attempts were made: {result.skipped}")
    if result.signal:
        return Verdict(
            notes=(
                f"the endpoint signalled lockout or throttling after {result.signal_after} "
                f"failed attempts: {result.signal}",
            )
        )
    return Verdict.of(
        f"{result.failures} failed attempts for {result.username}, past the threshold of "
        f"{result.threshold}, were all "
        f"answered as usual, with no delay (last answer {result.last_latency:.2f} s), no 429, "
        "no lockout and no CAPTCHA"
    )


@cache
def blocklist() -> frozenset[str]:
    extra = passwords.policy_data().get("blocklist_extra", [])
    return frozenset(w.lower() for w in [*passwords.weak_passwords(), *map(str, extra)])


def policy_rules(name: str) -> dict[str, Any]:
    rules: dict[str, Any] = passwords.policy_data()["policies"][name]
    return rules


def violations(password: str, policy: str, mfa: bool = False) -> list[str]:
    """What the named policy finds wrong with a password, in plain words; empty if nothing."""
    rules = policy_rules(policy)
    out: list[str] = []
    minimum = int(rules["min_length_with_mfa"] if mfa else rules["min_length"])
    if len(password) < minimum:
        out.append(f"{len(password)} characters, under {minimum}")
    if rules.get("blocklist") and password.lower() in blocklist():
        out.append("on the blocklist of common passwords")
    missing = [
        label
        for key in rules.get("require", [])
        for label, test in [_CLASSES[key]]
        if not any(test(c) for c in password)
    ]
    if missing:
        out.append("no " + ", no ".join(missing))
    return out


@check("login.password_policy")
def password_policy(measured: LoginResult, subject: Subject) -> Verdict:
    result = require(measured.password_policy)
    if result is None:
        return Verdict.skip("no password-setting endpoint is declared (password_policy)")
    rules = policy_rules(result.policy)
    findings: list[str] = []
    for sample in result.samples:
        wrong = violations(sample.password, result.policy, result.mfa)
        if sample.accepted and wrong:
            findings.append(f'"{sample.password}" was accepted ({"; ".join(wrong)})')
    refused = sum(1 for s in result.samples if not s.accepted)
    left = left_behind(result.created)
    notes = (
        f"held to {rules['title']}{' with MFA' if result.mfa else ''}; {refused} of "
        f"{len(result.samples)} sample passwords refused; a strong random password got "
        f"{result.control}",
        *([left] if left else []),
    )
    verdict = Verdict.of(*findings, notes=notes)
    return replace(verdict, left_behind=(left,)) if left else verdict
