"""The lab's web servers: a hardened HTTPS site, and a legacy site with old banners and admin/admin."""

from __future__ import annotations

import base64
import secrets
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar


class LabHandler(BaseHTTPRequestHandler):
    profile: ClassVar[str] = "secure"
    basic_password: ClassVar[str] = secrets.token_urlsafe(24)  # the strong site: never guessable
    protocol_version = "HTTP/1.1"

    def version_string(self) -> str:
        return "Apache/2.2.15 (CentOS)" if self.profile == "legacy" else "lab"

    def log_message(self, format: str, *args: object) -> None:
        return  # keep the lab quiet; the harness keeps its own evidence

    def _send(self, status: int, body: str, headers: dict[str, str] | None = None) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if self.profile == "legacy":
            self.send_header("X-Powered-By", "PHP/5.3.3")
        elif isinstance(self.connection, ssl.SSLSocket):
            self.send_header("Strict-Transport-Security", "max-age=63072000")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        if self.path.startswith("/admin"):
            self._basic_auth()
        elif self.path.startswith("/login"):
            self._send(200, _LOGIN_FORM)
        else:
            self._send(200, f"<h1>harness demo lab: {self.profile}</h1>")

    def do_POST(self) -> None:
        length = min(int(self.headers.get("Content-Length") or 0), 65536)
        body = self.rfile.read(length).decode(errors="replace")
        if self.path.startswith("/login"):
            fields = dict(p.split("=", 1) for p in body.split("&") if "=" in p)
            if (
                self.profile == "legacy"
                and fields.get("username") == "admin"
                and fields.get("password") == "admin"
            ):
                self._send(302, "", {"Location": "/admin", "Set-Cookie": "session=lab; HttpOnly"})
            else:
                self._send(
                    200, _LOGIN_FORM.replace("<form", "<p>Invalid username or password</p><form")
                )
        else:
            self._send(405, "method not allowed")

    def _basic_auth(self) -> None:
        expected = (
            ("admin", "admin") if self.profile == "legacy" else ("admin", self.basic_password)
        )
        header = self.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                user, _, pw = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                user, pw = "", ""
            if (user, pw) == expected:
                self._send(200, "<h1>admin console</h1>")
                return
        self._send(401, "authentication required", {"WWW-Authenticate": 'Basic realm="lab admin"'})


_LOGIN_FORM = (
    '<form method="post" action="/login"><input name="username"><input name="password" '
    'type="password"><button>Sign in</button></form>'
)


def handler_for(profile: str) -> type[LabHandler]:
    return type(f"{profile.title()}Handler", (LabHandler,), {"profile": profile})


def serve(
    host: str, port: int, profile: str, tls: ssl.SSLContext | None = None
) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), handler_for(profile))
    server.daemon_threads = True
    if tls is not None:
        # handshake per connection in the handler thread, so one stalled client cannot block others
        server.socket = tls.wrap_socket(
            server.socket, server_side=True, do_handshake_on_connect=False
        )
    threading.Thread(target=server.serve_forever, daemon=True, name=f"lab-{profile}-{port}").start()
    return server
