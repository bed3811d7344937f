"""Only declared scope is contacted: hostile pages that point a login probe at a sentinel (a
listener on an undeclared loopback address, and one on an undeclared port of the declared host)
through form actions, redirects of every kind, meta refresh, links and password-setting forms.

The sentinel must see 0 connections, and each check that a page tried to steer is broken with
the refused destination named, never passed. Real HTTP servers on loopback throughout.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import http_sites
import pytest
from hostile_servers import Sentinel
from http_sites import Route

from harness.errors import FailureKind, ProbeFailure
from harness.inventory import load
from harness.probes.logins.engine import probe_endpoint
from harness.probes.logins.model import LoginResult, PasswordPolicyResult
from harness.session.subjects import subjects

DECLARED = "127.0.0.50"
UNDECLARED = "127.0.0.51"
ENV = "HARNESS_TEST_SCOPE_PASSWORD"
SECRET = "Sc0pe-only-declared-7Qx"


def declared_site(routes: dict[str, Route]) -> http_sites.Site:
    """A real HTTP server on the declared address, answering per path."""
    return http_sites.Site(routes, DECLARED)


@pytest.fixture
def sentinels() -> Iterator[list[Sentinel]]:
    both = [Sentinel(UNDECLARED), Sentinel(DECLARED)]  # another address; another port
    yield both
    for s in both:
        s.close()


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, SECRET)


def _form(action: str, method: str = "post") -> str:
    return (
        f'<html><form method="{method}" action="{action}"><input name="username">'
        '<input type="password" name="password"></form></html>'
    )


def _probe(tmp_path: Path, login: str) -> LoginResult | ProbeFailure:
    text = f"""\
    version: 1
    defaults: {{timeout: 2, login_delay: 0, login_attempt_budget: 5}}
    targets:
      - name: t
        host: {DECLARED}
        logins:
          - {login}
    """
    path = tmp_path / "targets.yaml"
    path.write_text(textwrap.dedent(text))
    (job,) = subjects(load(path), "logins")
    result, _log = probe_endpoint(job, tmp_path)
    return result


CRED = f"credentials: [{{username: admin, password_env: {ENV}}}]"


@pytest.mark.parametrize("which", [0, 1], ids=["other-address", "other-port"])
@pytest.mark.parametrize("method", ["post", "get"])
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_form_action_off_scope_gets_no_credential(
    tmp_path: Path, sentinels: list[Sentinel], which: int, method: str, scheme: str
) -> None:
    sentinel = sentinels[which]
    site = declared_site({"/login": (200, {}, _form(sentinel.url(scheme=scheme), method))})
    try:
        result = _probe(tmp_path, f"{{kind: http-form, url: '{site.url('/login')}', {CRED}}}")
    finally:
        site.close()
    assert sum(s.connections for s in sentinels) == 0
    assert isinstance(result, ProbeFailure) and result.kind is FailureKind.SCOPE, result
    assert f"{sentinel.host}:{sentinel.port}" in result.reason
    assert site.requests and all(r.startswith("GET /login") for r in site.requests)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("which", [0, 1], ids=["other-address", "other-port"])
def test_a_redirect_off_scope_is_never_followed(
    tmp_path: Path, sentinels: list[Sentinel], status: int, which: int
) -> None:
    """The false "anonymous access allowed" came from following a redirect to another port."""
    sentinel = sentinels[which]
    site = declared_site(
        {
            "/admin": (401, {"WWW-Authenticate": 'Basic realm="x"'}, "no"),
            "/private": (status, {"Location": sentinel.url("/open")}, ""),
        }
    )
    try:
        login = f"{{kind: http-basic, url: '{site.url('/admin')}', protected_url: '{site.url('/private')}'}}"
        result = _probe(tmp_path, login)
    finally:
        site.close()
    assert sum(s.connections for s in sentinels) == 0
    assert isinstance(result, LoginResult), result
    anonymous = result.anonymous
    assert isinstance(anonymous, ProbeFailure) and anonymous.kind is FailureKind.SCOPE
    assert f"{sentinel.host}:{sentinel.port}" in anonymous.reason


def test_links_meta_refresh_and_login_redirects_are_not_followed(
    tmp_path: Path, sentinels: list[Sentinel]
) -> None:
    away = sentinels[0].url()
    page = (
        f'<html><head><meta http-equiv="refresh" content="0;url={away}">'
        f'<base href="{away}"><link rel="stylesheet" href="{away}.css"></head>'
        f'<a href="{away}">x</a><img src="{sentinels[1].url()}">'
        '<form method="post" action="/login"><input name="username">'
        '<input type="password" name="password"></form></html>'
    )
    site = declared_site({"/login": (200, {"Location": away, "Refresh": f"0; url={away}"}, page)})
    try:
        result = _probe(
            tmp_path,
            f"{{kind: http-form, url: '{site.url('/login')}', failure_text: nope, {CRED}}}",
        )
    finally:
        site.close()
    assert sum(s.connections for s in sentinels) == 0
    assert "POST /login" in site.requests  # the form was posted, on the declared origin
    assert result is not None


def test_a_password_form_off_scope_gets_no_password(
    tmp_path: Path, sentinels: list[Sentinel]
) -> None:
    site = declared_site(
        {
            "/admin": (401, {"WWW-Authenticate": 'Basic realm="x"'}, "no"),
            "/register": (200, {}, _form(sentinels[0].url())),
        }
    )
    try:
        login = (
            f"{{kind: http-basic, url: '{site.url('/admin')}', "
            f"password_policy: {{url: '{site.url('/register')}'}}}}"
        )
        result = _probe(tmp_path, login)
    finally:
        site.close()
    assert sum(s.connections for s in sentinels) == 0
    assert isinstance(result, LoginResult), result
    policy = result.password_policy
    assert not isinstance(policy, PasswordPolicyResult)
    assert isinstance(policy, ProbeFailure) and policy.kind is FailureKind.SCOPE


@pytest.mark.parametrize(
    "headers",
    [
        {"Location": "/login?x=\xff"},  # the byte 0xff on the wire: not UTF-8
        {"Content-Type": "text/html; charset=no-such-charset"},
    ],
    ids=["location-not-utf8", "unknown-charset"],
)
def test_odd_bytes_in_an_answer_do_not_crash_the_probe(
    tmp_path: Path, sentinels: list[Sentinel], headers: dict[str, str]
) -> None:
    site = declared_site({"/login": (200, {}, _form("/login")), "/private": (302, headers, "x")})
    site.routes["/login"] = (200, headers, _form("/login"))
    try:
        login = (
            f"{{kind: http-form, url: '{site.url('/login')}', failure_text: nope, "
            f"protected_url: '{site.url('/private')}', {CRED}}}"
        )
        result = _probe(tmp_path, login)
    finally:
        site.close()
    text = str(result)
    assert "crashed" not in text and "UnicodeDecodeError" not in text, text


@pytest.mark.parametrize("kind", ["http-form", "http-json"])
def test_a_login_answered_by_a_redirect_off_scope_cannot_be_judged(
    tmp_path: Path, sentinels: list[Sentinel], kind: str
) -> None:
    """Every attempt is answered by a redirect to the sentinel: comparing with the control
    would call every guess rejected, but where a login is decided lies off the declared scope."""
    away = sentinels[1].url("/sso")
    site = declared_site({"/login": (200, {}, _form("/auth"))})
    site.routes["/auth"] = site.routes["/api/login"] = (302, {"Location": away}, "")
    path = "/login" if kind == "http-form" else "/api/login"
    try:
        result = _probe(tmp_path, f"{{kind: {kind}, url: '{site.url(path)}'}}")
    finally:
        site.close()
    assert sum(s.connections for s in sentinels) == 0
    assert isinstance(result, LoginResult), result
    guesses = result.guesses
    assert isinstance(guesses, ProbeFailure) and guesses.kind is FailureKind.SCOPE, guesses
    assert f"{sentinels[1].host}:{sentinels[1].port}" in guesses.reason
