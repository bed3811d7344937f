"""The weak-login suite end to end: real servers, one pytest run, every check failing on its
defect and passing on a strong endpoint; and a run that must not leak a declared secret.

As in the TLS suite test, the servers start once per module and the suite runs in a pytest
subprocess; each test then reads one (target, check) result from that run's Allure results.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from allure_results import assert_status, by_target_and_check
from login_servers import HOST, Config, LoginApp, OpenSsh, ftp_server, nist_rule

from harness.lab.login_services import SshServer

SUITE = Path(__file__).parents[1] / "suites" / "test_logins.py"
STRONG = "vX9#qLr2!mTz8@kP"
CHECKS = [
    "login.default_credentials",
    "login.weak_password",
    "login.anonymous",
    "login.cleartext",
    "login.lockout",
    "login.password_policy",
]
_OFF = {"login.lockout": "skipped", "login.password_policy": "skipped"}
_HTTP = {**_OFF, "login.cleartext": "failed"}
_NO_ANON = {"login.anonymous": "skipped"}  # forms and JSON declare no protected URL here
# target -> the checks that do not pass there; every other check must pass
EXPECTED: dict[str, dict[str, str]] = {
    "strong-https": {},
    "weak-basic": {
        **_HTTP,
        "login.default_credentials": "failed",
        "login.weak_password": "skipped",
    },
    "weak-digest": {
        **_HTTP,
        "login.default_credentials": "failed",
        "login.weak_password": "skipped",
    },
    "strong-digest": _HTTP,
    "weak-form": {
        **_HTTP,
        **_NO_ANON,
        "login.default_credentials": "failed",
        "login.weak_password": "skipped",
    },
    "strong-form": {**_HTTP, **_NO_ANON},
    "weak-json": {
        **_HTTP,
        **_NO_ANON,
        "login.default_credentials": "failed",
        "login.weak_password": "skipped",
    },
    "weak-password": {**_HTTP, "login.weak_password": "failed"},
    "all-200": {
        "login.default_credentials": "broken",
        "login.weak_password": "broken",
        "login.anonymous": "broken",
        "login.cleartext": "failed",
        "login.lockout": "broken",
        "login.password_policy": "skipped",
    },
    "no-lockout": {**_HTTP, "login.lockout": "failed"},
    # it locks before the top 3 weak passwords could be tried: measured too little to pass
    "locks-after-3": {
        **_HTTP,
        **_NO_ANON,
        "login.lockout": "passed",
        "login.weak_password": "broken",
    },
    "weak-register": {**_HTTP, "login.password_policy": "failed"},
    "open-private": {**_HTTP, "login.anonymous": "failed"},
    "ssh-weak": {**_OFF, "login.weak_password": "failed"},
    "ssh-strong": _OFF,
    "ftp-anonymous": {**_OFF, "login.anonymous": "failed", "login.cleartext": "failed"},
}


def _run(
    d: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    shutil.copy(SUITE, d / "test_logins.py")
    return subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "test_logins.py", "--targets", "targets.yaml"),
            *("-p", "no:cacheprovider", "--alluredir", "allure", *args),
        ],
        cwd=d,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def _results(d: Path) -> dict[tuple[str, str], Any]:
    return by_target_and_check(d / "allure")


def _target(name: str, login: str) -> list[str]:
    return [f"  - name: {name}", f"    host: {HOST}", f"    logins: [{login}]"]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, Path]:
    ca = trustme.CA()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST).configure_cert(ctx)
    bundle = tmp_path_factory.mktemp("pki") / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    return ctx, bundle


@pytest.fixture(scope="module")
def run(
    tmp_path_factory: pytest.TempPathFactory, pki: tuple[ssl.SSLContext, Path]
) -> Iterator[dict[tuple[str, str], Any]]:
    d = tmp_path_factory.mktemp("logins")
    tls, bundle = pki
    admin = {"admin": "admin"}
    apps = {
        "strong-https": LoginApp(
            Config(accounts={"admin": STRONG}, tls=tls, lock_after=5, register_rule=nist_rule)
        ),
        "weak-basic": LoginApp(Config(accounts=admin)),
        "weak-digest": LoginApp(Config(accounts=admin, auth="digest")),
        "strong-digest": LoginApp(Config(accounts={"admin": STRONG}, auth="digest")),
        "weak-form": LoginApp(Config(accounts={"admin": "password"})),
        "strong-form": LoginApp(Config(accounts={"admin": STRONG})),
        "weak-json": LoginApp(Config(accounts={"tomcat": "tomcat"})),
        # fifth on the shipped weak list, for the one declared user: found at the default budget
        "weak-password": LoginApp(Config(accounts={"operator": "123456789"})),
        "all-200": LoginApp(Config(everything_200=True)),
        "no-lockout": LoginApp(Config(accounts={"admin": STRONG})),
        "locks-after-3": LoginApp(Config(accounts={"admin": STRONG}, lock_after=3)),
        "weak-register": LoginApp(Config(accounts={"admin": STRONG})),
        "open-private": LoginApp(Config(accounts={"admin": STRONG}, private_public=True)),
    }
    # Debian's real sshd where this machine can start it, else the paramiko server
    ssh_weak: Any = (
        OpenSsh(d / "sshd", {"deploy": "123456789"})
        if OpenSsh.available() is None
        else SshServer(HOST, 0, {"deploy": "123456789"})
    )
    ssh_strong = SshServer(HOST, 0, {"deploy": STRONG})
    ftp, ftp_port = ftp_server(d / "ftp", {}, anonymous=True)
    u = {name: app.url for name, app in apps.items()}
    form = "kind: http-form, failure_text: Invalid, url: "
    pp_strong = f"{{url: {u['strong-https']('/register')}}}"
    logins = {
        "strong-https": f"{{kind: http-basic, url: {u['strong-https']('/admin')}, lockout: true, "
        f"lockout_threshold: 5, password_policy: {pp_strong}}}",
        "weak-basic": f"{{kind: http-basic, url: {u['weak-basic']('/admin')}}}",
        "weak-digest": f"{{kind: http-digest, url: {u['weak-digest']('/admin')}}}",
        "strong-digest": f"{{kind: http-digest, url: {u['strong-digest']('/admin')}}}",
        "weak-form": f"{{{form}{u['weak-form']('/login')}}}",
        "strong-form": f"{{{form}{u['strong-form']('/login')}}}",
        "weak-json": f"{{kind: http-json, url: {u['weak-json']('/api/login')}, "
        "username_field: email, token_field: access_token}",
        "weak-password": f"{{kind: http-basic, url: {u['weak-password']('/admin')}, "
        "usernames: [operator]}",
        "all-200": f"{{kind: http-basic, url: {u['all-200']('/admin')}, lockout: true}}",
        "no-lockout": f"{{kind: http-basic, url: {u['no-lockout']('/admin')}, lockout: true, "
        "lockout_threshold: 3}",
        "locks-after-3": f"{{{form}{u['locks-after-3']('/login')}, lockout: true}}",
        "weak-register": f"{{kind: http-basic, url: {u['weak-register']('/admin')}, "
        f"password_policy: {{url: {u['weak-register']('/api/register')}, kind: json}}}}",
        "open-private": f"{{kind: http-basic, url: {u['open-private']('/admin')}, "
        f"protected_url: {u['open-private']('/private')}}}",
        "ssh-weak": f"{{kind: ssh, port: {ssh_weak.port}, usernames: [deploy]}}",
        "ssh-strong": f"{{kind: ssh, port: {ssh_strong.port}, usernames: [deploy]}}",
        "ftp-anonymous": f"{{kind: ftp, port: {ftp_port}}}",
    }
    lines = [
        "version: 1",
        f"defaults: {{timeout: 5, login_delay: 0, ca_bundle: {bundle}}}",
        "targets:",
    ]
    for name, login in logins.items():
        lines += _target(name, login)
    (d / "targets.yaml").write_text("\n".join(lines) + "\n")
    try:
        proc = _run(d, "-q", "-rN", "--summary-json", "summary.json")
    finally:
        for app in apps.values():
            app.close()
        ssh_weak.close()
        ssh_strong.close()
        ftp.close_all()
    results = _results(d)
    results[("", "stdout")] = proc.stdout + proc.stderr
    results[("", "apps")] = apps
    results[("", "summary")] = json.loads((d / "summary.json").read_text())
    yield results


def _cases() -> list[tuple[str, str, str]]:
    return [(t, c, EXPECTED[t].get(c, "passed")) for t in EXPECTED for c in CHECKS]


@pytest.mark.parametrize(("target", "check", "status"), _cases())
def test_every_check_on_every_endpoint(
    run: dict[tuple[str, str], Any], target: str, check: str, status: str
) -> None:
    assert_status(run, target, check, status)


def test_ambiguous_endpoint_is_broken_with_the_reason(run: dict[tuple[str, str], Any]) -> None:
    message = run[("all-200", "login.default_credentials")]["statusDetails"]["message"]
    assert "(ambiguous endpoint)" in message and "random, certainly wrong password" in message
    assert "admin / admin" not in message


def test_attempts_stay_within_the_budget(run: dict[tuple[str, str], Any]) -> None:
    apps = run[("", "apps")]
    for name, app in apps.items():
        assert app.attempts <= 10, name
    assert apps["locks-after-3"].attempts == 4  # three failures, the locked answer, then stop


def test_too_few_guesses_count_as_could_not_measure(run: dict[tuple[str, str], Any]) -> None:
    summary = run[("", "summary")]
    broken = {(r["target"], r["check"]): r for r in summary["results"] if r["status"] == "broken"}
    assert summary["could_not_measure"] == len(broken)
    locked = broken[("locks-after-3", "login.weak_password")]
    assert "guessing stopped early" in locked["reason"]
    assert "the top 3 for every username are needed" in locked["reason"]


def test_the_summary_lists_the_accounts_the_policy_check_created(
    run: dict[tuple[str, str], Any],
) -> None:
    apps = run[("", "apps")]
    left = {e["key"]: e["what"] for e in run[("", "summary")]["left_behind"]}
    for name in ("weak-register", "strong-https"):
        (key,) = [k for k in left if k.startswith(f"{name}:")]
        assert apps[name].registered and all(u in left[key] for u in apps[name].registered)
        assert f"left on {key} by login.password_policy: created" in run[("", "stdout")]


def test_findings_name_the_pair_and_its_source(run: dict[tuple[str, str], Any]) -> None:
    message = run[("weak-basic", "login.default_credentials")]["statusDetails"]["message"]
    assert "admin / admin was accepted" in message and "http-default-accounts" in message
    weak = run[("ssh-weak", "login.weak_password")]["statusDetails"]["message"]
    assert "deploy / 123456789 was accepted" in weak and "weak-password list" in weak
    policy = run[("weak-register", "login.password_policy")]["statusDetails"]["message"]
    assert '"Summer2024!" was accepted (11 characters, under 15)' in policy


SECRET = "Corp-Deploy-" + "7f3a9c51e2-never-shown"


def test_no_secret_reaches_any_output(tmp_path: Path, pki: tuple[ssl.SSLContext, Path]) -> None:
    """A declared secret that works must be reported masked, and appear in no output at all."""
    tls, bundle = pki
    ssh = SshServer(HOST, 0, {"deploy": SECRET})
    https = LoginApp(Config(accounts={"deploy": SECRET}, tls=tls))
    plain = LoginApp(Config(accounts={"deploy": SECRET}))
    cred = "credentials: [{username: deploy, password_env: HARNESS_DEPLOY_PASSWORD}]"
    lines = [
        "version: 1",
        f"defaults: {{timeout: 5, login_delay: 0, ca_bundle: {bundle}}}",
        "targets:",
    ]
    pin = f"host_key: '{ssh.key.fingerprint}'"  # declared credentials go to a pinned host only
    lines += _target("ssh", f"{{kind: ssh, port: {ssh.port}, usernames: [deploy], {pin}, {cred}}}")
    lines += _target("https", f"{{kind: http-basic, url: {https.url('/admin')}, {cred}}}")
    lines += _target("plain", f"{{kind: http-basic, url: {plain.url('/admin')}, {cred}}}")
    (tmp_path / "targets.yaml").write_text("\n".join(lines) + "\n")
    env = {**os.environ, "HARNESS_DEPLOY_PASSWORD": SECRET}
    try:
        proc = _run(
            tmp_path,
            "-v",
            "-rA",
            "--junitxml",
            "junit.xml",
            "--summary-json",
            "summary.json",
            "--log-level",
            "DEBUG",
            "--log-file",
            "run.log",
            "--log-file-level",
            "DEBUG",
            env=env,
        )
    finally:
        ssh.close()
        https.close()
        plain.close()
    results = _results(tmp_path)
    for target in ("ssh", "https"):
        found = results[(target, "login.weak_password")]
        assert found["status"] == "failed", found
        assert "******" in found["statusDetails"]["message"]
        assert "HARNESS_DEPLOY_PASSWORD" in found["statusDetails"]["message"]
    assert results[("plain", "login.weak_password")]["status"] == "passed"  # never sent in clear
    assert (tmp_path / "junit.xml").is_file() and (tmp_path / "run.log").stat().st_size > 0
    assert SECRET not in proc.stdout and SECRET not in proc.stderr
    leaks = [
        str(f.relative_to(tmp_path))
        for f in tmp_path.rglob("*")
        if f.is_file() and SECRET.encode() in f.read_bytes()
    ]
    assert leaks == []
