"""Only declared scope is contacted: hostile pages that point a login probe at a sentinel (a
listener on an undeclared loopback address, and one on an undeclared port of the declared host)
through form actions, redirects of every kind, meta refresh, links and password-setting forms.

The sentinel must see 0 connections, and each check that a page tried to steer is broken with
the refused destination named, never passed. Real HTTP servers on loopback throughout.
"""

from __future__ import annotations

import socket
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from harness.errors import FailureKind, ProbeFailure
from harness.inventory import load
from harness.probes.logins.engine import probe_endpoint
from harness.probes.logins.model import LoginResult, PasswordPolicyResult
from harness.session.subjects import subjects

DECLARED = "127.0.0.50"
UNDECLARED = "127.0.0.51"
ENV = "HARNESS_TEST_SCOPE_PASSWORD"
SECRET = "Sc0pe-only-declared-7Qx"

Route = tuple[int, dict[str, str], str]


class Sentinel:
    """Counts every connection; a probe that reaches it has left the declared scope."""

    def __init__(self, host: str) -> None:
        self.sock = socket.create_server((host, 0))
        self.sock.settimeout(0.2)
        self.host, self.port = host, self.sock.getsockname()[1]
        self.connections = 0
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def url(self, path: str = "/steal", scheme: str = "http") -> str:
        return f"{scheme}://{self.host}:{self.port}{path}"

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


class Site:
    """A real HTTP server whose answers per path are given by the test."""

    def __init__(self, routes: dict[str, Route]) -> None:
        self.routes = routes
        self.requests: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                site.requests.append(f"{self.command} {self.path}")
                path = self.path.split("?", 1)[0]
                status, headers, body = site.routes.get(path, (404, {}, "not found"))
                data = body.encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = answer

        self.server = ThreadingHTTPServer((DECLARED, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://{DECLARED}:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


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
    site = Site({"/login": (200, {}, _form(sentinel.url(scheme=scheme), method))})
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
    site = Site(
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
    site = Site({"/login": (200, {"Location": away, "Refresh": f"0; url={away}"}, page)})
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
    site = Site(
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
    site = Site({"/login": (200, {}, _form("/login")), "/private": (302, headers, "x")})
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
    site = Site({"/login": (200, {}, _form("/auth"))})
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
