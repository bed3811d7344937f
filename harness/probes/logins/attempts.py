"""One endpoint's attempts: the budget, the delay, the log, and the comparison with the control.

Every attempt goes through `Run.attempt`, one at a time, so the budget and the delay hold for
every kind. Each server text kept in the log is masked, then clipped (harness.redact).
"""

from __future__ import annotations

import secrets
import time
from collections import Counter

from harness import redact
from harness.errors import FailureKind, ProbeFailure
from harness.probes import Job
from harness.probes.logins.kinds import LoginClient
from harness.probes.logins.lists import Candidate
from harness.probes.logins.model import Answer, Unmeasurable

MAX_TEXT = 300  # characters of a server's answer kept in a detail, after masking


class Stop(Exception):
    """Ends guessing early because the guessing part cannot be measured."""

    def __init__(self, failure: ProbeFailure) -> None:
        self.failure = failure


class Run:
    def __init__(self, job: Job, client: LoginClient, secrets: list[tuple[str, str]]) -> None:
        self.job = job
        self.client = client
        self.budget = job.settings.login_attempt_budget
        self.delay = job.settings.login_delay
        self.attempts = 0
        self.failures: Counter[str] = Counter()
        self.latencies: list[float] = []
        self.log: list[str] = []
        redact.REDACTOR.register_all(secrets)  # masked by every output, whatever echoes them
        self.control: Answer | None = None
        self.tried: set[tuple[str, str]] = set()

    @staticmethod
    def scrub(text: str) -> str:
        """A server's text for the log: masked, then clipped (never the other way round)."""
        return redact.clip(text, MAX_TEXT)

    def remaining(self) -> int:
        return self.budget - self.attempts

    def attempt(self, username: str, password: str, shown: str, secret: bool = False) -> Answer:
        """One attempt, after the delay; never more than the budget, never two at once."""
        assert self.remaining() > 0, "the attempt budget is enforced by the callers"
        if self.attempts:
            time.sleep(self.delay)
        self.attempts += 1
        try:
            answer = self.client.attempt(username, password, secret=secret)
        except Unmeasurable as exc:
            self.log.append(f"#{self.attempts} {username} / {shown}: {self.scrub(exc.reason)}")
            raise
        self.latencies.append(answer.latency)
        self.log.append(
            f"#{self.attempts} {username} / {shown}: "
            f"{self.verdict_word(answer)} ({self.scrub(answer.detail)})"
        )
        return answer

    def accepted(self, answer: Answer) -> bool:
        if answer.accepted is not None or self.control is None:
            return bool(answer.accepted)
        # no declared success signal: a different status, redirect or cookie set than the control
        status = answer.shape[0] if answer.shape else ""
        return answer.shape != self.control.shape and not status.startswith(("4", "5"))

    def new_signals(self, answer: Answer) -> tuple[str, ...]:
        baseline = set(self.control.signals) if self.control else set()
        return tuple(s for s in answer.signals if s not in baseline)

    def verdict_word(self, answer: Answer) -> str:
        if self.control is None:
            return "control answer"
        if self.new_signals(answer):
            return "lockout signal"
        return "ACCEPTED" if self.accepted(answer) else "rejected"

    def control_password(self) -> str:
        return "harness-control-" + secrets.token_urlsafe(12)


def fail(job: Job, kind: FailureKind, reason: str) -> ProbeFailure:
    return ProbeFailure(kind, job.where, reason)


def ambiguous(
    job: Job, run: Run, user: str, answer: Answer, after: Candidate | None = None
) -> ProbeFailure:
    when = f" after it accepted {after.username} / {after.shown}" if after else ""
    return ProbeFailure(
        FailureKind.AMBIGUOUS,
        job.where,
        f"the endpoint answered a random, certainly wrong password for {user!r}{when} like a "
        f"success ({run.scrub(answer.detail)}), so its answers cannot tell a right password "
        "from a wrong one; declare a success or failure signal (failure_text, success_status, "
        "success_redirect, success_cookie, token_field)",
    )
