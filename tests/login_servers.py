"""Real login servers for the logins tests, all on 127.0.0.1 and ephemeral ports.

`LoginApp` is one http.server app whose behaviour is chosen per instance: Basic or Digest auth
on /admin, a CSRF-protected form on /login, a JSON login on /api/login, a registration form and
API that enforce a password rule (and DELETE /api/users/<name> to remove an account), an app
that answers 200 to everything, and a lock after N failures. It counts every credential-bearing request and the most that ever ran at once.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

HOST = "127.0.0.1"
REALM = "harness-test"


def nist_rule(password: str) -> bool:
    return len(password) >= 15 and password.lower() not in {"qwertyuiop123456"}


def accept_all(password: str) -> bool:
    return True


def refuse_all(password: str) -> bool:
    return False


@dataclass
class Config:
    accounts: dict[str, str] = field(default_factory=dict)
    auth: str = "basic"  # basic | digest: the scheme on /admin
    everything_200: bool = False
    lock_after: int | None = None  # failures before every attempt is refused
    lock_status: int = 429
    private_public: bool = False  # /private served without credentials
    register_rule: Callable[[str], bool] = accept_all
    slow: float = 0.0  # seconds each credential-bearing request takes (for the overlap count)
    tls: ssl.SSLContext | None = None  # serve HTTPS


class LoginApp:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.attempts = 0
        self.failures = 0
        self.arrivals: list[float] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.sessions: dict[str, str] = {}  # session cookie -> CSRF token
        self.registered: list[str] = []
        self.lock = threading.Lock()
        app = self

        class Handler(_Handler):
            pass

        Handler.app = app
        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.server.daemon_threads = True
        if config.tls is not None:
            self.server.socket = config.tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        scheme = "https" if self.config.tls else "http"
        return f"{scheme}://{HOST}:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- bookkeeping shared by every login route
    def begin(self) -> None:
        with self.lock:
            self.attempts += 1
            self.arrivals.append(time.monotonic())
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        time.sleep(self.config.slow)

    def end(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def locked(self) -> bool:
        return self.config.lock_after is not None and self.failures >= self.config.lock_after

    def check(self, user: str, password: str) -> bool:
        ok = self.config.accounts.get(user) == password and not self.locked()
        if not ok:
            with self.lock:
                self.failures += 1
        return ok


class _Handler(BaseHTTPRequestHandler):
    app: LoginApp
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def send(self, status: int, body: str, headers: dict[str, str] | None = None) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def locked_answer(self) -> None:
        status = self.app.config.lock_status
        self.send(
            status,
            "Too many failed attempts. Account locked, try again later.",
            {"Retry-After": "60"},
        )

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if self.app.config.everything_200 and path not in ("/login", "/register"):
            self.send(200, "<h1>Welcome</h1>")  # its login form is real; every answer is 200
        elif path == "/admin":
            self.admin()
        elif path in ("/login", "/register"):
            sid = self.session()
            self.send(200, self.form(path, sid), {"Set-Cookie": f"sid={sid}; HttpOnly"})
        elif path == "/private":
            if self.app.config.private_public:
                self.send(200, "<h1>quarterly numbers</h1>")
            else:
                self.send(302, "", {"Location": "/login"})
        else:
            self.send(404, "not found")

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        raw = self.body()
        if self.app.config.everything_200:
            self.send(200, "<h1>Welcome</h1>")
        elif path == "/login":
            self.form_login(raw)
        elif path == "/api/login":
            self.json_login(raw)
        elif path == "/register":
            self.register(parse_qs(raw.decode()), form=True)
        elif path == "/api/register":
            self.register({k: [v] for k, v in json.loads(raw or b"{}").items()}, form=False)
        else:
            self.send(404, "not found")

    def do_DELETE(self) -> None:
        path = urlsplit(self.path).path
        name = path.removeprefix("/api/users/")
        if path.startswith("/api/users/") and name in self.app.registered:
            self.app.registered.remove(name)
            self.send(204, "")
        else:
            self.send(404, "no such account")

    # -- sessions and CSRF
    def session(self) -> str:
        sid = self.cookie("sid")
        if not sid or sid not in self.app.sessions:
            sid = secrets.token_hex(8)
            self.app.sessions[sid] = secrets.token_hex(12)
        return sid

    def cookie(self, name: str) -> str | None:
        m = re.search(rf"(?:^|;\s*){name}=([^;]+)", self.headers.get("Cookie", ""))
        return m.group(1) if m else None

    def form(self, path: str, sid: str) -> str:
        token = self.app.sessions[sid]
        extra = (
            '<input name="email" type="email"><input name="confirm" type="password">'
            if path == "/register"
            else ""
        )
        return (
            f'<form method="post" action="{path}"><input type="hidden" name="csrf" value="{token}">'
            f'<input name="username"><input name="password" type="password">{extra}'
            "<button>Go</button></form>"
        )

    def csrf_ok(self, fields: dict[str, list[str]]) -> bool:
        sid = self.cookie("sid")
        return bool(sid) and self.app.sessions.get(sid or "") == fields.get("csrf", [""])[0]

    # -- the login routes
    def admin(self) -> None:
        header = self.headers.get("Authorization")
        scheme = self.app.config.auth
        challenge = (
            f'Basic realm="{REALM}"'
            if scheme == "basic"
            else f'Digest realm="{REALM}", nonce="{secrets.token_hex(8)}", qop="auth", algorithm=MD5'
        )
        if not header:
            self.send(401, "authentication required", {"WWW-Authenticate": challenge})
            return
        self.app.begin()
        try:
            if self.app.locked():
                self.locked_answer()
                return
            user, ok = self.verify(header, scheme)
            if self.app.check(user, ok) if isinstance(ok, str) else False:
                self.send(200, "<h1>admin console</h1>")
            else:
                self.send(401, "authentication required", {"WWW-Authenticate": challenge})
        finally:
            self.app.end()

    def verify(self, header: str, scheme: str) -> tuple[str, str | None]:
        """(username, the password to check) or (username, None) when the proof is wrong."""
        if scheme == "basic" and header.startswith("Basic "):
            user, _, pw = base64.b64decode(header[6:]).decode().partition(":")
            return user, pw
        if scheme == "digest" and header.startswith("Digest "):
            p = {k: a or b for k, a, b in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]*))', header)}
            user = p.get("username", "")
            known = self.app.config.accounts.get(user)
            if known is None:
                self.app.check(user, "\x00")  # count the failure
                return user, None
            md5 = lambda s: hashlib.md5(s.encode()).hexdigest()  # noqa: E731
            ha1, ha2 = md5(f"{user}:{REALM}:{known}"), md5(f"GET:{p.get('uri', '')}")
            expect = md5(
                f"{ha1}:{p.get('nonce')}:{p.get('nc')}:{p.get('cnonce')}:{p.get('qop')}:{ha2}"
            )
            return user, known if p.get("response") == expect else "\x00wrong"
        return "", None

    def form_login(self, raw: bytes) -> None:
        fields = parse_qs(raw.decode(), keep_blank_values=True)
        if not self.csrf_ok(fields):
            self.send(403, "<h1>Forbidden</h1><p>CSRF token missing or wrong</p>")
            return
        self.app.begin()
        try:
            if self.app.locked():
                self.locked_answer()
                return
            user, pw = fields.get("username", [""])[0], fields.get("password", [""])[0]
            if self.app.check(user, pw):
                self.send(302, "", {"Location": "/home", "Set-Cookie": "auth=ok; HttpOnly"})
            else:
                self.send(
                    200, "<p>Invalid username or password</p>" + self.form("/login", self.session())
                )
        finally:
            self.app.end()

    def json_login(self, raw: bytes) -> None:
        self.app.begin()
        try:
            if self.app.locked():
                self.locked_answer()
                return
            doc = json.loads(raw or b"{}")
            if self.app.check(str(doc.get("email")), str(doc.get("password"))):
                self.send(200, json.dumps({"access_token": secrets.token_hex(16)}))
            else:
                self.send(401, json.dumps({"error": "invalid credentials"}))
        finally:
            self.app.end()

    def register(self, fields: dict[str, list[str]], form: bool) -> None:
        if form and not self.csrf_ok(fields):
            self.send(403, "CSRF token missing or wrong")
            return
        pw = fields.get("password", [""])[0]
        if form and fields.get("confirm", [""])[0] != pw:
            self.send(400, "passwords do not match")
        elif self.app.config.register_rule(pw):
            self.app.registered.append(fields.get("username", [""])[0])
            self.send(201, "account created")
        else:
            self.send(400, "Password too weak")


def ftp_server(
    root: Path, accounts: dict[str, str], anonymous: bool, host: str = HOST
) -> tuple[Any, int]:
    """A pyftpdlib server; returns (server, port). Failed logins are answered without delay."""
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.ioloop import IOLoop
    from pyftpdlib.servers import FTPServer

    root.mkdir(parents=True, exist_ok=True)
    authorizer = DummyAuthorizer()
    for user, pw in accounts.items():
        authorizer.add_user(user, pw, str(root))
    if anonymous:
        authorizer.add_anonymous(str(root))
    handler = type("TestFTP", (FTPHandler,), {"authorizer": authorizer, "auth_failed_timeout": 0})
    # its own IOLoop: servers sharing pyftpdlib's global loop across threads corrupt each other
    server = FTPServer((host, 0), handler, ioloop=IOLoop())
    threading.Thread(
        target=server.serve_forever, kwargs={"handle_exit": False}, daemon=True
    ).start()
    return server, server.address[1]


class OpenSsh:
    """Debian's real OpenSSH sshd on 127.0.0.1, with its own accounts and host keys.

    sshd runs in a private mount namespace where its own passwd, shadow and group files are
    bind-mounted over /etc's, so its accounts exist for it alone and the machine is unchanged.
    Needs root (sshd and unshare); `available()` says whether this machine can.
    """

    SSHD = "/usr/sbin/sshd"

    @staticmethod
    def available() -> str | None:
        """None, or why the real sshd cannot be started here."""
        import os
        import shutil

        if os.geteuid() != 0:
            return "starting sshd in its own mount namespace needs root"
        for tool in (OpenSsh.SSHD, "unshare", "ssh-keygen", "openssl"):
            if shutil.which(tool) is None:
                return f"{tool} is not installed"
        return None

    def __init__(self, workdir: Path, accounts: dict[str, str]) -> None:
        import socket
        import subprocess

        self.dir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.keys: dict[str, Path] = {}
        for kind in ("ed25519", "rsa"):
            key = workdir / f"host_{kind}"
            subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(key)], check=True)
            self.keys[kind] = key
        etc = {name: Path("/etc", name).read_text() for name in ("passwd", "shadow", "group")}
        for n, (user, password) in enumerate(accounts.items()):
            uid = 64000 + n
            digest = subprocess.run(
                ["openssl", "passwd", "-6", "-stdin"],
                input=password,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            etc["passwd"] += f"{user}:x:{uid}:{uid}::/nonexistent:/usr/sbin/nologin\n"
            etc["shadow"] += f"{user}:{digest}:19000:0:99999:7:::\n"
            etc["group"] += f"{user}:x:{uid}:\n"
        for name, text in etc.items():
            (workdir / name).write_text(text)
        (workdir / "shadow").chmod(0o600)
        with socket.socket() as probe:  # a free port; sshd binds it a moment later
            probe.bind((HOST, 0))
            self.port = probe.getsockname()[1]
        config = workdir / "sshd_config"
        config.write_text(
            f"ListenAddress {HOST}:{self.port}\n"
            + "".join(f"HostKey {key}\n" for key in self.keys.values())
            + "PidFile none\nUsePAM no\nPasswordAuthentication yes\n"
            "KbdInteractiveAuthentication no\nPubkeyAuthentication no\nPermitRootLogin no\n"
            "MaxStartups 100\nMaxAuthTries 100\nLogLevel VERBOSE\n"
        )
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege-separation directory
        binds = " && ".join(
            f"mount --bind {workdir / name} /etc/{name}" for name in ("passwd", "shadow", "group")
        )
        self.log = workdir / "sshd.log"
        self.proc = subprocess.Popen(
            [
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                f"{binds} && exec {self.SSHD} -D -e -f {config}",
            ],
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited: {self.log.read_text()}")
            try:
                socket.create_connection((HOST, self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        self.close()
        raise RuntimeError(f"sshd did not listen on {self.port}: {self.log.read_text()}")

    def fingerprint(self, kind: str = "ed25519") -> str:
        """The SHA256 fingerprint of one host key, as `ssh-keygen -lf` prints it."""
        import subprocess

        out = subprocess.run(
            ["ssh-keygen", "-lf", f"{self.keys[kind]}.pub"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return out.split()[1]

    def accepted(self) -> list[str]:
        """The users sshd logged a successful password login for."""
        return re.findall(r"Accepted password for (\S+)", self.log.read_text())

    def password_attempts(self) -> int:
        """Password authentications sshd logged, failed or accepted."""
        return len(re.findall(r"(?:Failed|Accepted) password for", self.log.read_text()))

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
