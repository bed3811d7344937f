"""The logins probe against real servers: control guard, budget, lockout stop, one at a time,
every kind both ways, and secrets that never show."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from checking import at, login_result, outcome
from login_servers import HOST, Config, LoginApp, ftp_server, nist_rule, refuse_all

from harness.errors import FailureKind, ProbeFailure
from harness.inventory import load
from harness.lab.login_services import SshServer
from harness.outcome import Verdict
from harness.policy import logins as policy
from harness.probes import Job
from harness.probes.logins import LoginsProbe
from harness.probes.logins.engine import probe_endpoint
from harness.probes.logins.lists import Candidate
from harness.probes.logins.model import Category, Guesses, LoginResult, PasswordPolicyResult
from harness.session.subjects import subjects

STRONG = "vX9#qLr2!mTz8@kP"  # never on any list


@pytest.fixture
def apps() -> Iterator[list[LoginApp]]:
    started: list[LoginApp] = []
    yield started
    for app in started:
        app.close()


def app(apps: list[LoginApp], **kw: Any) -> LoginApp:
    started = LoginApp(Config(**kw))
    apps.append(started)
    return started


def jobs(tmp_path: Path, *logins: str, defaults: str = "") -> list[Job]:
    body = "\n".join(f"      - {login}" for login in logins)
    text = f"""\
version: 1
defaults: {{timeout: 3, login_delay: 0{defaults}}}
targets:
  - name: t
    host: {HOST}
    logins:
{body}
"""
    path = tmp_path / "targets.yaml"
    path.write_text(textwrap.dedent(text))
    return subjects(load(path), "logins")


def probe(tmp_path: Path, login: str, defaults: str = "") -> tuple[LoginResult | ProbeFailure, str]:
    (job,) = jobs(tmp_path, login, defaults=defaults)
    return probe_endpoint(job, tmp_path)


def measured(tmp_path: Path, login: str, defaults: str = "") -> LoginResult:
    result, log = probe(tmp_path, login, defaults)
    assert isinstance(result, LoginResult), f"{result}\n{log}"
    return result


def guesses(result: LoginResult) -> Guesses:
    assert isinstance(result.guesses, Guesses), result.guesses
    return result.guesses


# ------------------------------------------------------------------------ no false positives


@pytest.mark.parametrize(
    "login",
    [
        "{kind: http-basic, url: URL/admin}",
        "{kind: http-form, url: URL/login, failure_text: Invalid}",
        "{kind: http-json, url: URL/api/login, success_status: [200]}",
    ],
)
def test_everything_200_is_ambiguous_never_admin_admin(tmp_path, apps, login):
    server = app(apps, everything_200=True)
    result = measured(tmp_path, login.replace("URL", server.url("")))
    failure = result.guesses
    assert isinstance(failure, ProbeFailure) and failure.kind is FailureKind.AMBIGUOUS
    assert "random, certainly wrong password" in failure.reason
    assert "admin / admin" not in failure.reason
    assert server.attempts == 0 or result.attempts == 1  # only the control was ever sent


def test_everything_200_protected_url_is_ambiguous(tmp_path, apps):
    server = app(apps, everything_200=True)
    result = measured(tmp_path, f"{{kind: http-basic, url: {server.url('/admin')}}}")
    assert isinstance(result.anonymous, ProbeFailure)
    assert result.anonymous.kind is FailureKind.AMBIGUOUS
    assert policy.cleartext(result, at()).findings  # still judged: it is plain HTTP


def test_ssh_that_accepts_any_password_is_ambiguous(tmp_path):
    server = SshServer(HOST, 0, {}, accept_any=True)
    try:
        result = measured(tmp_path, f"{{kind: ssh, port: {server.port}}}")
    finally:
        server.close()
    assert isinstance(result.guesses, ProbeFailure)
    assert result.guesses.kind is FailureKind.AMBIGUOUS


# ----------------------------------------------------------------------------------- safety


def test_budget_is_never_exceeded_counted_by_the_server(tmp_path, apps):
    server = app(apps, accounts={"admin": STRONG})
    result = measured(
        tmp_path,
        f"{{kind: http-basic, url: {server.url('/admin')}, usernames: [a, b, c], login_attempt_budget: 4}}",
    )
    assert server.attempts == result.attempts == 3  # one attempt stays reserved to confirm a hit
    g = guesses(result)
    assert g.hit is None and g.stopped and "attempt budget (4)" in g.stopped
    default = measured(tmp_path, f"{{kind: http-basic, url: {server.url('/admin')}}}")
    assert server.attempts - 3 == default.attempts == 9


def test_budget_too_small_is_broken_and_names_the_budget_that_suffices(tmp_path, apps):
    server = app(apps, accounts={"admin": STRONG})
    login = "{{kind: http-basic, url: {}, usernames: [a, b, c], login_attempt_budget: {}}}"
    g = guesses(measured(tmp_path, login.format(server.url("/admin"), 4)))
    short = outcome(policy.weak_password, login_result(g))
    assert isinstance(short, ProbeFailure), short
    assert short.reason.startswith("budget too small: 2 of 75 weak pairs tried (top 1 for a, ")
    need = int(short.reason.split("raise login_attempt_budget to at least ")[1].split()[0])
    vendor = outcome(
        policy.default_credentials, login_result(g)
    )  # the budget ran out before the vendor turn
    assert isinstance(vendor, ProbeFailure) and "0 of 14 vendor pairs tried" in vendor.reason
    # the named budget is the smallest that suffices: one less is still short
    below = guesses(measured(tmp_path, login.format(server.url("/admin"), need - 1)))
    assert isinstance(outcome(policy.weak_password, login_result(below)), ProbeFailure)
    enough = guesses(measured(tmp_path, login.format(server.url("/admin"), need)))
    verdict = outcome(policy.weak_password, login_result(enough))
    assert isinstance(verdict, Verdict) and verdict.ok, verdict
    assert "(top 3 for a, top 3 for b, top 3 for c)" in verdict.notes[0]


def test_lockout_stops_at_once_and_is_reported(tmp_path, apps):
    server = app(apps, accounts={"admin": STRONG}, lock_after=3, lock_status=423)
    result = measured(
        tmp_path,
        f"{{kind: http-form, url: {server.url('/login')}, failure_text: Invalid, lockout: true, lockout_threshold: 5, login_attempt_budget: 20}}",
    )
    # 3 failures (the control and two pairs), one attempt that saw the lock, then nothing more
    assert server.attempts == 4 == result.attempts
    g = guesses(result)
    assert g.hit is None and "signalled lockout" in (g.stopped or "")
    assert "HTTP 423" in (g.stopped or "") and "Retry-After" in (g.stopped or "")
    lock = result.lockout
    assert lock is not None and not isinstance(lock, ProbeFailure)
    assert lock.signal_after == 3
    assert policy.lockout(result, at()).ok
    verdict = outcome(
        policy.default_credentials, login_result(g)
    )  # the one vendor pair it needs was tried
    assert isinstance(verdict, Verdict)
    assert any("signalled lockout" in n for n in verdict.notes)
    weak = outcome(
        policy.weak_password, login_result(g)
    )  # the top 3 weak passwords were not: never a pass
    assert isinstance(weak, ProbeFailure) and "guessing stopped early" in weak.reason


def test_no_lockout_is_a_finding(tmp_path, apps):
    server = app(apps, accounts={"admin": STRONG})
    result = measured(
        tmp_path,
        f"{{kind: http-basic, url: {server.url('/admin')}, lockout: true, lockout_threshold: 3}}",
    )
    assert server.attempts == result.attempts <= 10
    verdict = policy.lockout(result, at())
    assert verdict.findings and "past the threshold of 3" in verdict.findings[0].text


def test_lockout_needs_budget_or_says_so(tmp_path, apps):
    server = app(apps, accounts={"admin": STRONG})
    result = measured(
        tmp_path,
        f"{{kind: http-basic, url: {server.url('/admin')}, lockout: true, lockout_threshold: 9, login_attempt_budget: 5}}",
    )
    assert isinstance(result.lockout, ProbeFailure) and "too small" in result.lockout.reason
    assert server.attempts <= 5


def test_attempts_on_one_service_never_overlap(tmp_path, apps):
    server = app(apps, accounts={"admin": STRONG}, slow=0.05)
    endpoints = jobs(
        tmp_path,
        f"{{kind: http-basic, url: {server.url('/admin')}}}",
        f"{{kind: http-form, url: {server.url('/login')}, failure_text: Invalid}}",
        f"{{kind: http-json, url: {server.url('/api/login')}, username_field: email}}",
    )
    ctx = _Ctx(load(tmp_path / "targets.yaml"))
    LoginsProbe().run(endpoints, ctx)
    assert set(ctx.results) == {j.key for j in endpoints}
    assert server.max_in_flight == 1
    assert server.attempts == sum(r.attempts for r in ctx.results.values())


def test_delay_separates_attempts(tmp_path, apps):
    server = app(apps, accounts={"admin": STRONG})
    measured(
        tmp_path,
        f"{{kind: http-basic, url: {server.url('/admin')}, login_attempt_budget: 4, login_delay: 0.2}}",
    )
    gaps = [b - a for a, b in zip(server.arrivals, server.arrivals[1:], strict=False)]
    assert len(gaps) >= 2 and min(gaps) >= 0.19


class _Ctx:
    def __init__(self, inventory: Any) -> None:
        self.inventory = inventory
        self.results: dict[str, Any] = {}
        self.evidence: dict[str, str] = {}

    def begin(self, key: str) -> None:
        pass

    def publish(self, key: str, result: Any) -> None:
        self.results[key] = result

    def progress(self, message: str) -> None:
        pass

    def result_of(self, probe: str, key: str) -> Any:
        raise AssertionError

    def attach(self, key: str, name: str, body: Any, mime: str) -> None:
        self.evidence[key] = body


# ------------------------------------------------------------------------- each kind, both ways


@pytest.mark.parametrize(("auth", "kind"), [("basic", "http-basic"), ("digest", "http-digest")])
def test_basic_and_digest(tmp_path, apps, auth, kind):
    weak = app(apps, accounts={"admin": "admin"}, auth=auth)
    hit = guesses(measured(tmp_path, f"{{kind: {kind}, url: {weak.url('/admin')}}}")).hit
    assert hit is not None and (hit.username, hit.password, hit.category) == (
        "admin",
        "admin",
        Category.DEFAULT,
    )
    strong = app(apps, accounts={"admin": STRONG}, auth=auth)
    assert guesses(measured(tmp_path, f"{{kind: {kind}, url: {strong.url('/admin')}}}")).hit is None


def test_basic_declared_as_digest_is_a_protocol_failure(tmp_path, apps):
    server = app(apps, accounts={"admin": "admin"}, auth="basic")
    result, _ = probe(tmp_path, f"{{kind: http-digest, url: {server.url('/admin')}}}")
    assert isinstance(result, ProbeFailure) and "asks for Basic" in result.reason


def test_form_carries_csrf_token_and_cookie(tmp_path, apps):
    weak = app(apps, accounts={"admin": "password"})
    hit = guesses(
        measured(tmp_path, f"{{kind: http-form, url: {weak.url('/login')}, failure_text: Invalid}}")
    ).hit
    assert hit is not None and (hit.username, hit.password) == ("admin", "password")
    assert "redirect to /home" in hit.detail
    strong = app(apps, accounts={"admin": STRONG})
    # the CSRF refusal (403, no "Invalid") would read as a success if the token were not carried
    g = guesses(
        measured(
            tmp_path, f"{{kind: http-form, url: {strong.url('/login')}, failure_text: Invalid}}"
        )
    )
    assert g.hit is None and g.tried["default"] > 0


@pytest.mark.parametrize(
    "signal",
    [
        "success_redirect: /home",
        "success_cookie: auth",
        "success_status: [302]",
        "success_text: nothing-here",
    ],
)
def test_form_success_signals(tmp_path, apps, signal):
    weak = app(apps, accounts={"admin": "admin"})
    g = guesses(measured(tmp_path, f"{{kind: http-form, url: {weak.url('/login')}, {signal}}}"))
    assert (g.hit is not None) is (signal != "success_text: nothing-here")


def test_form_without_declared_signal_compares_with_the_control(tmp_path, apps):
    weak = app(apps, accounts={"admin": "admin"})
    assert (
        guesses(measured(tmp_path, f"{{kind: http-form, url: {weak.url('/login')}}}")).hit
        is not None
    )


def test_json_login(tmp_path, apps):
    weak = app(apps, accounts={"admin": "123456"})
    login = "{{kind: http-json, url: {}, username_field: email, token_field: access_token}}"
    hit = guesses(measured(tmp_path, login.format(weak.url("/api/login")))).hit
    assert hit is not None and hit.password == "123456" and "token returned" in hit.detail
    strong = app(apps, accounts={"admin": STRONG})
    assert guesses(measured(tmp_path, login.format(strong.url("/api/login")))).hit is None


def test_ssh_weak_and_strong(tmp_path):
    weak = SshServer(HOST, 0, {"deploy": "password"})
    strong = SshServer(HOST, 0, {"deploy": STRONG})
    try:
        w = measured(
            tmp_path,
            f"{{kind: ssh, port: {weak.port}, usernames: [deploy], login_attempt_budget: 16}}",
        )
        s = measured(
            tmp_path,
            f"{{kind: ssh, port: {strong.port}, usernames: [deploy], login_attempt_budget: 16}}",
        )
    finally:
        weak.close()
        strong.close()
    hit = guesses(w).hit
    assert hit is not None and (hit.username, hit.password, hit.category) == (
        "deploy",
        "password",
        Category.WEAK,
    )
    assert weak.attempts == w.attempts - 1  # the 'none' method is not a password attempt
    assert guesses(s).hit is None and strong.attempts <= 16
    assert policy.cleartext(s, at()).ok and not policy.anonymous(s, at()).findings  # type: ignore[arg-type]


def test_ssh_refusing_connections_after_failures_is_a_lockout_signal(tmp_path):
    server = SshServer(HOST, 0, {"deploy": STRONG}, lock_after=2)
    try:
        result = measured(
            tmp_path,
            f"{{kind: ssh, port: {server.port}, usernames: [deploy], lockout: true, lockout_threshold: 3}}",
        )
    finally:
        server.close()
    lock = result.lockout
    assert lock is not None and not isinstance(lock, ProbeFailure)
    assert lock.signal and "stopped accepting connections" in lock.signal
    assert server.attempts == 2


def test_ftp_anonymous_weak_and_strong(tmp_path):
    anon, anon_port = ftp_server(tmp_path / "a", {}, anonymous=True)
    weak, weak_port = ftp_server(tmp_path / "w", {"admin": "admin"}, anonymous=False)
    strong, strong_port = ftp_server(tmp_path / "s", {"admin": STRONG}, anonymous=False)
    try:
        a = measured(tmp_path, f"{{kind: ftp, port: {anon_port}}}")
        w = measured(tmp_path, f"{{kind: ftp, port: {weak_port}}}")
        s = measured(tmp_path, f"{{kind: ftp, port: {strong_port}}}")
    finally:
        for server in (anon, weak, strong):
            server.close_all()
    assert policy.anonymous(a, at()).findings  # type: ignore[arg-type]
    assert guesses(a).hit is None  # anonymous is not a default pair: the control guards it
    hit = guesses(w).hit
    assert hit is not None and (hit.username, hit.password) == ("admin", "admin")
    assert not policy.anonymous(s, at()).findings and guesses(s).hit is None  # type: ignore[arg-type]
    assert "without TLS" in policy.cleartext(s, at()).findings[0].text


def test_protected_url(tmp_path, apps):
    open_app = app(apps, private_public=True)
    closed = app(apps)
    login = "{{kind: http-form, url: {}, failure_text: Invalid, protected_url: {}}}"
    a = measured(tmp_path, login.format(open_app.url("/login"), open_app.url("/private")))
    b = measured(tmp_path, login.format(closed.url("/login"), closed.url("/private")))
    assert policy.anonymous(a, at()).findings  # type: ignore[arg-type]
    assert policy.anonymous(b, at()).ok  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- password policy


@pytest.mark.parametrize(
    ("rule", "declared", "findings"),
    [
        (None, "policy: nist", 6 - 1),  # everything but the 24-letter passphrase breaks NIST
        (nist_rule, "policy: nist", 0),
        (nist_rule, "policy: composition", 1),  # the lower-case passphrase
        (None, "policy: nist, mfa: true", 3),  # 8 characters are enough with MFA: blocklist only
    ],
)
def test_password_policy(tmp_path, apps, rule, declared, findings):
    server = app(apps, **({"register_rule": rule} if rule else {}))
    for kind, path in (("form", "/register"), ("json", "/api/register")):
        pp = f"{{url: {server.url(path)}, kind: {kind}, {declared}}}"
        result = measured(
            tmp_path, f"{{kind: http-basic, url: {server.url('/admin')}, password_policy: {pp}}}"
        )
        verdict = policy.password_policy(result, at())
        assert len(verdict.findings) == findings, verdict
    assert len(set(server.registered)) == len(server.registered)  # a fresh username each time


@pytest.mark.parametrize("delete", [False, True])
def test_password_policy_lists_the_accounts_it_creates_and_deletes_them(tmp_path, apps, delete):
    server = app(apps)  # takes every password: each sample creates an account
    delete_url = f", delete_url: '{server.url('/api/users/{username}')}'" if delete else ""
    pp = f"{{url: {server.url('/api/register')}, kind: json{delete_url}}}"
    result = measured(
        tmp_path, f"{{kind: http-basic, url: {server.url('/admin')}, password_policy: {pp}}}"
    )
    pr = result.password_policy
    assert isinstance(pr, PasswordPolicyResult)
    created = [a.username for a in pr.created]
    assert len(created) == 1 + len(pr.samples) and all(a.endpoint == pr.url for a in pr.created)
    verdict = policy.password_policy(result, at())
    (left,) = verdict.left_behind
    assert f"created {len(created)} accounts at {pr.url}" in left and created[0] in left
    if delete:
        assert server.registered == [] and all(a.deleted for a in pr.created)
        assert "deleted all" in left
    else:
        assert sorted(server.registered) == sorted(created)
        assert "still there: remove them" in left


def test_password_policy_endpoint_that_refuses_everything_is_ambiguous(tmp_path, apps):
    server = app(apps, register_rule=refuse_all)
    pp = f"{{url: {server.url('/register')}}}"
    result = measured(
        tmp_path, f"{{kind: http-basic, url: {server.url('/admin')}, password_policy: {pp}}}"
    )
    assert isinstance(result.password_policy, ProbeFailure)
    assert result.password_policy.kind is FailureKind.AMBIGUOUS


def test_policy_rules_are_data():
    assert policy.violations("Summer2024!", "nist") == ["11 characters, under 15"]
    assert policy.violations("Summer2024!", "composition") == []
    assert policy.violations("password", "nist", mfa=True) == [
        "on the blocklist of common passwords"
    ]
    assert policy.violations("bluehorsesingmorningtide", "composition") == [
        "no an upper-case letter, no a digit, no punctuation"
    ]


# ----------------------------------------------------------------------------------- secrets


def test_declared_secret_is_masked_and_never_in_the_log(tmp_path, monkeypatch):
    secret = "Corp-" + "Secret-4711-unique"
    monkeypatch.setenv("HARNESS_TEST_DEPLOY_PW", secret)
    server = SshServer(HOST, 0, {"deploy": secret})
    try:
        result, log = probe(
            tmp_path,
            f"{{kind: ssh, port: {server.port}, usernames: [deploy], host_key: '{server.key.fingerprint}', credentials: [{{username: deploy, password_env: HARNESS_TEST_DEPLOY_PW}}]}}",
        )
    finally:
        server.close()
    assert isinstance(result, LoginResult)
    hit = guesses(result).hit
    assert hit is not None and hit.category is Category.DECLARED
    assert secret not in repr(result) and secret not in log
    assert "$HARNESS_TEST_DEPLOY_PW" in hit.password and "******" in hit.password
    verdict = outcome(policy.weak_password, login_result(guesses(result)))
    assert isinstance(verdict, Verdict) and secret not in verdict.findings[0].text
    assert secret not in repr(Candidate("u", secret, Category.DECLARED, "x", public=False))


def test_declared_secret_is_not_sent_over_cleartext(tmp_path, apps, monkeypatch):
    monkeypatch.setenv("HARNESS_TEST_PW", "Corp-Secret-cleartext")
    server = app(apps, accounts={"deploy": "Corp-Secret-cleartext"})
    result = measured(
        tmp_path,
        f"{{kind: http-basic, url: {server.url('/admin')}, credentials: [{{username: deploy, password_env: HARNESS_TEST_PW}}]}}",
    )
    g = guesses(result)
    assert g.hit is None and any("cleartext" in n for n in g.notes)


def test_a_private_password_list_is_not_sent_over_cleartext(tmp_path, apps):
    (tmp_path / "ours.txt").write_text("Corp-Winter-2026\n")
    server = app(apps, accounts={"ops": "Corp-Winter-2026"})
    result = measured(
        tmp_path,
        f"{{kind: http-basic, url: {server.url('/admin')}, usernames: [ops], "
        "passwords_file: ours.txt}",
    )
    g = guesses(result)
    # never sent: the server would have accepted it
    assert g.hit is None and g.tried["weak"] == 0 and g.tried["default"] > 0
    short = outcome(policy.weak_password, login_result(g))
    assert isinstance(short, ProbeFailure)
    assert "passwords_file ours.txt not tried: the channel is cleartext" in short.reason


def test_missing_secret_env_is_broken_not_passed(tmp_path, apps, monkeypatch):
    monkeypatch.delenv("HARNESS_TEST_ABSENT", raising=False)
    server = app(apps, accounts={"admin": STRONG})
    result = measured(
        tmp_path,
        f"{{kind: http-basic, url: {server.url('/admin')}, credentials: [{{username: x, password_env: HARNESS_TEST_ABSENT}}]}}",
    )
    assert (
        isinstance(result.guesses, ProbeFailure) and "HARNESS_TEST_ABSENT" in result.guesses.reason
    )
