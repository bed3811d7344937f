"""One login endpoint, probed safely: control first, budget, delay, stop rules, lockout.

Attempts are counted and logged by harness.probes.logins.attempts. The endpoint's secrets are
registered with the masking boundary (harness.redact) before the first attempt, and
candidates show a mask unless they come from a public list.
"""

from __future__ import annotations

from pathlib import Path

from harness import redact
from harness.errors import FailureKind, ProbeFailure
from harness.inventory import LoginEndpoint
from harness.probes import Job, scope
from harness.probes.logins import lists
from harness.probes.logins.attempts import Run, Stop, ambiguous, fail
from harness.probes.logins.kinds import (
    ANONYMOUS_ATTEMPTS,
    DECLARED_OVER_CLEARTEXT,
    KINDS,
    LoginClient,
)
from harness.probes.logins.lists import Candidate, ListError, Lists
from harness.probes.logins.model import (
    Anonymous,
    Answer,
    Category,
    Channel,
    Coverage,
    Guesses,
    Hit,
    Lockout,
    LoginResult,
    Unmeasurable,
)
from harness.probes.logins.setpassword import probe_password_policy

SLOWDOWN_SECONDS = 1.0  # an answer this much slower than the control's counts as throttling


def probe_endpoint(job: Job, base_dir: Path | None) -> tuple[LoginResult | ProbeFailure, str]:
    """The result for one endpoint, and the attempt log to attach as evidence."""
    ep = job.endpoint
    assert isinstance(ep, LoginEndpoint)
    client = KINDS[ep.kind](job, base_dir)
    try:
        found: Lists | ListError = lists.lists_for(ep, base_dir)
    except ListError as exc:
        found = exc
    # the private pairs that can be sent within the budget: only a sent secret can be echoed,
    # and a long private list would make the mask's pattern as long
    planned = found.plan()[: job.settings.login_attempt_budget] if isinstance(found, Lists) else []
    hidden = [(c.username, c.password) for c in planned if not c.public]
    run = Run(job, client, hidden)
    try:
        with scope.declared(declared_urls(ep)):
            result = _probe(job, ep, client, run, found, base_dir)
    finally:
        client.close()
    if isinstance(result, ProbeFailure):
        run.log.append(f"could not measure ({result.kind}): {result.reason}")
    header = (
        f"{job.where}: {run.attempts} of {run.budget} attempts, {run.delay} s apart, one at a time"
    )
    if isinstance(result, LoginResult) and result.channel.host_key:
        header += f"; SSH host key {result.channel.host_key}"
    return result, "\n".join([header, *run.log]) + "\n"


def declared_urls(ep: LoginEndpoint) -> list[str | None]:
    """The URLs targets.yaml names for this endpoint: the only origins its requests may reach."""
    pp = ep.password_policy
    return [ep.url, ep.protected_url, *((pp.url, pp.delete_url) if pp else ())]


def _probe(
    job: Job,
    ep: LoginEndpoint,
    client: LoginClient,
    run: Run,
    found: Lists | ListError,
    base_dir: Path | None,
) -> LoginResult | ProbeFailure:
    try:
        channel = client.channel()
        anonymous = client.anonymous()
    except Unmeasurable as exc:
        return ProbeFailure(exc.kind, job.where, run.scrub(exc.reason))
    run.attempts += ANONYMOUS_ATTEMPTS.get(ep.kind, 0)
    if isinstance(anonymous, Anonymous):
        counted = f"#{run.attempts} " if ANONYMOUS_ATTEMPTS.get(ep.kind) else ""
        run.log.append(f"{counted}anonymous: {anonymous.what}: {run.scrub(anonymous.detail)}")
    if isinstance(found, ListError):
        failure = ProbeFailure(FailureKind.ERROR, job.where, str(found))
        guesses: Guesses | ProbeFailure = failure
        lockout: Lockout | ProbeFailure | None = failure if ep.lockout else None
    else:
        try:
            guesses, lockout = _guess(job, ep, run, found, channel)
        except Unmeasurable as exc:
            # no answer to a control attempt: the endpoint was never measured, its channel neither
            return ProbeFailure(exc.kind, job.where, f"{run.scrub(exc.reason)} (control attempt)")
    policy = (
        probe_password_policy(job, ep.password_policy, base_dir) if ep.password_policy else None
    )
    return LoginResult(
        kind=ep.kind,
        label=ep.label,
        channel=channel,
        guesses=guesses,
        anonymous=anonymous,
        lockout=lockout,
        password_policy=policy,
        attempts=run.attempts,
        budget=run.budget,
    )


def _guess(
    job: Job, ep: LoginEndpoint, run: Run, found: Lists, channel: Channel
) -> tuple[Guesses | ProbeFailure, Lockout | ProbeFailure | None]:
    notes: list[str] = []
    candidates = found.plan()
    # an organisation's secrets (its credentials, a private passwords_file) go only where they
    # cannot be read in transit, and only to a server whose identity was checked
    withheld = "the channel is cleartext" if not channel.encrypted else channel.unverified
    if ep.kind in DECLARED_OVER_CLEARTEXT:  # the protocol has no other way (SNMPv2c)
        withheld = None
    if withheld:
        notes += [f"{c.source} not tried: {withheld}" for c in candidates if not c.public]
        candidates = [c for c in candidates if c.public]
    user0 = lists.usernames(ep)[0]
    need = ep.lockout_threshold + 1 if ep.lockout else 0
    before = run.attempts  # the anonymous check's attempts
    no_passwords = run.client.password_auth()
    if no_passwords:
        cover = _coverage(found, run, candidates, before, need, user0)
        return Guesses(None, cover, "not tried", run.budget, no_passwords=no_passwords), None
    lockout_failure: ProbeFailure | None = None
    if need and run.remaining() < need + 1:  # the failures, plus the confirmation reserve
        lockout_failure = ProbeFailure(
            FailureKind.ERROR,
            job.where,
            f"the attempt budget ({run.budget}) is too small for the lockout check, which needs "
            f"{need + 1} attempts; raise login_attempt_budget or lower lockout_threshold",
        )
        need = 0
    if run.remaining() < 2:
        failure = ProbeFailure(
            FailureKind.ERROR,
            job.where,
            f"the attempt budget ({run.budget}) leaves no room for a control attempt and a guess",
        )
        return failure, (lockout_failure or failure) if ep.lockout else None
    hit: Hit | None = None
    stopped: str | None = None
    signal: str | None = None
    try:
        control = run.attempt(user0, run.control_password(), "(random control password)")
        hard = [s for s in control.signals if not s.startswith("text:")]
        if hard:
            raise Stop(
                fail(
                    job,
                    FailureKind.ERROR,
                    "the endpoint signalled lockout or "
                    f"throttling at the first attempt ({run.scrub(', '.join(hard))}); "
                    "try again later",
                )
            )
        if control.accepted:
            raise Stop(ambiguous(job, run, user0, control))
        if control.accepted is None and control.elsewhere:
            # judged by comparison with the control, but the answer sends the client off the
            # declared scope: whether a login succeeds is decided where we may not look
            raise Stop(
                fail(
                    job,
                    FailureKind.SCOPE,
                    f"the endpoint answers a login with a redirect to "
                    f"{redact.clip(control.elsewhere, 200)}, outside the origins declared for "
                    "it, which is not followed, so a success cannot be told from a failure. "
                    "Fix: declare a success signal (success_redirect, success_cookie, "
                    "success_text or failure_text), or declare that origin if it is yours",
                )
            )
        run.control = control
        run.failures[user0] += 1
        for index, cand in enumerate(candidates):
            if run.remaining() - 1 - max(0, need - run.failures[user0]) <= 0:
                stopped = (
                    f"the attempt budget ({run.budget}) was reached; "
                    f"{len(candidates) - index} pairs were not tried"
                )
                break
            answer = _attempt(run, cand.username, cand.password, cand.shown, not cand.public)
            run.tried.add((cand.username, cand.password))
            sig = run.new_signals(answer)
            if sig:
                signal = run.scrub(", ".join(sig))
                stopped = (
                    f"the endpoint signalled lockout or throttling after "
                    f"{sum(run.failures.values())} failed attempts ({signal}); stopped there"
                )
                break
            if run.accepted(answer):
                confirm = run.attempt(user0, run.control_password(), "(second control password)")
                if run.accepted(confirm):
                    raise Stop(ambiguous(job, run, user0, confirm, after=cand))
                cand = found.as_listed(cand)
                hit = Hit(
                    cand.username,
                    cand.shown,
                    cand.category,
                    cand.source,
                    run.scrub(answer.detail),
                    cand.product,
                )
                stopped = "stopped at the first accepted pair"
                break
            run.failures[cand.username] += 1
        if ep.lockout and need and hit is None and signal is None:
            signal = _lockout_phase(run, user0, need)
    except Stop as stop:
        return stop.failure, stop.failure if ep.lockout else None
    guesses = Guesses(
        hit,
        _coverage(found, run, candidates, before, need, user0),
        run.scrub(control.detail),
        run.budget,
        stopped,
        tuple(dict.fromkeys(notes)),
    )
    if not ep.lockout:
        return guesses, None
    if lockout_failure is not None:
        return guesses, lockout_failure
    total = sum(run.failures.values())
    lockout = Lockout(
        user0,
        ep.lockout_threshold,
        run.failures[user0],
        signal,
        total if signal else None,
        run.latencies[0],
        run.latencies[-1],
        skipped="probing stopped at the first accepted pair" if hit else None,
    )
    return guesses, lockout


def _coverage(
    found: Lists, run: Run, candidates: list[Candidate], before: int, need: int, user0: str
) -> Coverage:
    """What the tried pairs cover, and the smallest budget that reaches each list's minimum.

    That budget replays the engine's spending: the anonymous check, the control, the pairs in
    plan order, the confirmation reserve and what the lockout check still needs for `user0`.
    """
    tried, listed = found.counts(run.tried)
    needed: dict[str, int | None] = {Category.DEFAULT.value: None, Category.WEAK.value: None}
    so_far: set[tuple[str, str]] = set()
    failures = 1  # the control, against user0
    checks = {Category.DEFAULT.value: found.vendor_met, Category.WEAK.value: found.weak_met}
    for category, met in checks.items():
        if met(so_far):
            needed[category] = 0
    for index, cand in enumerate(candidates):
        so_far.add((cand.username, cand.password))
        failures += cand.username == user0
        for category, met in checks.items():
            if needed[category] is None and met(so_far):
                needed[category] = before + 1 + (index + 1) + 1 + max(0, need - failures)
    return Coverage(
        tried=tried,
        listed=listed,
        depth=found.depth(run.tried),
        needed=needed,
        vendor_minimum=found.vendor_minimum,
        weak_minimum=found.weak_minimum,
    )


def _attempt(run: Run, username: str, password: str, shown: str, secret: bool) -> Answer:
    """An attempt after the control; a refused connection may be the service throttling."""
    try:
        return run.attempt(username, password, shown, secret)
    except Unmeasurable as exc:
        if run.client.throttles_by_refusing and exc.kind in (
            FailureKind.REFUSED,
            FailureKind.PROTOCOL,
            FailureKind.TIMEOUT,
        ):
            why = f"the server stopped accepting connections ({run.scrub(exc.reason)})"
            return Answer(False, why, ("closed",), (why,))
        raise Stop(
            fail(
                run.job,
                exc.kind,
                f"{run.scrub(exc.reason)} at attempt {run.attempts} of {run.budget}",
            )
        ) from None


def _lockout_phase(run: Run, user: str, need: int) -> str | None:
    """Wrong passwords for one account until it has `need` failures, watching for throttling."""
    while run.failures[user] < need and run.remaining() > 0:
        answer = _attempt(run, user, run.control_password(), "(random wrong password)", False)
        sig = run.new_signals(answer)
        if sig:
            return ", ".join(sig)
        if run.accepted(answer):
            raise Stop(ambiguous(run.job, run, user, answer))
        run.failures[user] += 1
    first, last = run.latencies[0], run.latencies[-1]
    if min(run.latencies) >= SLOWDOWN_SECONDS:
        return f"every failed attempt was answered after at least {min(run.latencies):.1f} s"
    if last - first >= SLOWDOWN_SECONDS and last >= 3 * first:
        return f"answers slowed from {first:.2f} s to {last:.2f} s"
    return None
