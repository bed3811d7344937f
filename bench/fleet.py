"""A benchmark fleet on loopback: TLS endpoints, banner hosts, login endpoints, a firewalled host.

- N TLS endpoints behind ONE nginx, one address each: 127.0.(10 + i // 250).(1 + i % 250):443,
  SNI tls-NNN.bench.test, a CA-signed ECDSA certificate for *.bench.test. Even endpoints are
  hardened (TLS 1.2/1.3, AEAD, HSTS), odd ones legacy (TLS 1.0-1.2, every cipher OpenSSL has).
- A few banner hosts on 127.0.2.x with small Python servers that greet like real daemons (FTP,
  SSH, SMTP, HTTP with a Server header), an HTTP basic-auth login on /admin (the first host
  accepts admin/admin), and one port on the first host that targets.yaml does not declare.
- Optionally a firewalled host, 127.0.9.9, where every port is silent. That needs a route that
  drops packets, which `bench/run.py` sets up inside a private network namespace; this module
  only declares the host.

`Fleet.start()` starts everything, `write_targets()` writes a targets.yaml for any subset, and
`stop()` tears it down. Standalone: `python bench/fleet.py --tls 20 --dir /tmp/fleet` keeps the
fleet up until Ctrl-C.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import signal
import socket
import socketserver
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from harness.lab.pki import make_ca, make_leaf

DOMAIN = "bench.test"
FILTERED_IP = "127.0.9.9"
HARDENED = """
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ECDHE+AESGCM:ECDHE+CHACHA20;
    ssl_ecdh_curve X25519:prime256v1:secp384r1;
    add_header Strict-Transport-Security "max-age=63072000" always;"""
LEGACY = """
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2;
    ssl_ciphers ALL:@SECLEVEL=0;"""


@dataclass(frozen=True)
class TlsHost:
    name: str
    ip: str
    port: int

    @property
    def server_name(self) -> str:
        return f"{self.name}.{DOMAIN}"


@dataclass(frozen=True)
class BannerProfile:
    """What one banner host runs: greetings per service, its web server, and its admin login."""

    ftp: str | None
    ssh: str | None
    smtp: str | None
    http_server: str
    admin_password: str
    extra_http_port: int | None = None  # an open port that targets.yaml does not declare


PROFILES = (
    BannerProfile(
        "220 (vsFTPd 2.3.4)",
        "SSH-2.0-OpenSSH_7.4",
        None,
        "Apache/2.4.29 (Ubuntu)",
        "admin",  # the shipped default pair admin/admin works here: a finding
        extra_http_port=8080,
    ),
    BannerProfile(
        None,
        "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3",
        "220 mail.bench.test ESMTP Postfix (Debian/GNU)",
        "nginx/1.22.1",
        "x7-Correct-Horse-Battery",
    ),
    BannerProfile(
        "220 ProFTPD 1.3.5 Server (bench) [127.0.2.3]",
        "SSH-2.0-OpenSSH_8.2p1 Ubuntu-4ubuntu0.5",
        "220 mx.bench.test ESMTP Exim 4.92 Mon, 01 Jan 2024 00:00:00 +0000",
        "Apache/2.2.34 (Unix) PHP/5.6.40",
        "y8-Staple-Orbit-Lantern",
    ),
    BannerProfile(
        None,
        "SSH-2.0-OpenSSH_9.6",
        None,
        "lighttpd/1.4.59",
        "z9-Quartz-Meadow-Signal",
    ),
)


@dataclass(frozen=True)
class BannerHost:
    name: str
    ip: str
    profile: BannerProfile
    ports: dict[str, int]  # service -> port

    @property
    def declared_ports(self) -> list[int]:
        return sorted(self.ports.values())

    @property
    def http_url(self) -> str:
        port = self.ports["http"]
        return f"http://{self.ip}/" if port == 80 else f"http://{self.ip}:{port}/"

    @property
    def login_url(self) -> str:
        return self.http_url + "admin"


def tls_ip(i: int) -> str:
    return f"127.0.{10 + i // 250}.{1 + i % 250}"


# --------------------------------------------------------------------------------- servers


class _LineHandler(socketserver.StreamRequestHandler):
    """Greets, then answers each line like the daemon it imitates (enough for nmap -sV)."""

    greeting = ""
    kind = ""

    def handle(self) -> None:
        self.request.settimeout(30)
        try:
            self.wfile.write((self.greeting + "\r\n").encode())
            for raw in self.rfile:
                verb = raw.decode("latin-1").strip().split(" ")[0].upper()
                answer = self.answer(verb)
                if answer is None:
                    return
                self.wfile.write((answer + "\r\n").encode())
        except OSError:
            return

    def answer(self, verb: str) -> str | None:
        if self.kind == "ssh" or verb == "QUIT":
            return None
        if self.kind == "ftp":
            return {
                "USER": "331 Please specify the password.",
                "PASS": "530 Login incorrect.",
                "SYST": "215 UNIX Type: L8",
                "FEAT": "211 End",
            }.get(verb, "500 Unknown command.")
        if verb in ("EHLO", "HELO"):
            return "250-mail.bench.test\r\n250-SIZE 10240000\r\n250 8BITMIME"
        return "502 5.5.2 Error: command not recognized"


class _TcpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: object, client_address: object) -> None:
        return  # scanners hang up mid-request all the time; that is not news


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: object, client_address: object) -> None:
        return


def _http_handler(server_header: str, password: str) -> type[BaseHTTPRequestHandler]:
    expected = "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def version_string(self) -> str:
            return server_header

        def log_message(self, format: str, *args: object) -> None:
            return

        def _send(self, status: int, body: bytes, extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for key, value in {"Content-Type": "text/html", **(extra or {})}.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path.split("?")[0].rstrip("/") == "/admin":
                if self.headers.get("Authorization") == expected:
                    self._send(200, b"<html><body>admin console</body></html>")
                else:
                    self._send(
                        401,
                        b"<html><body>401 Unauthorized</body></html>",
                        {"WWW-Authenticate": 'Basic realm="admin"'},
                    )
            elif self.path == "/":
                self._send(200, b"<html><head><title>bench</title></head><body>ok</body></html>")
            else:
                self._send(404, b"<html><body>404 Not Found</body></html>")

        do_HEAD = do_GET

    return Handler


def _serve(server: socketserver.BaseServer, name: str) -> socketserver.BaseServer:
    threading.Thread(target=server.serve_forever, daemon=True, name=name).start()
    return server


# ----------------------------------------------------------------------------------- fleet


@dataclass
class Fleet:
    directory: Path
    tls: list[TlsHost]
    banners: list[BannerHost]
    nginx: subprocess.Popen[bytes] | None = None
    servers: list[socketserver.BaseServer] = field(default_factory=list)

    @classmethod
    def start(cls, directory: Path, n_tls: int, n_banner: int = 4, port_offset: int = 0) -> Fleet:
        """Start nginx with `n_tls` endpoints and `n_banner` banner hosts; wait until they answer.

        `port_offset` moves the banner hosts' ports (21 -> 21 + offset, ...) for machines where
        something already listens on the standard ports of every address."""
        if n_banner > len(PROFILES):
            raise SystemExit(f"at most {len(PROFILES)} banner hosts")
        if n_tls > 250 * 9:
            raise SystemExit("at most 2250 TLS endpoints (127.0.10.x - 127.0.18.x)")
        directory.mkdir(parents=True, exist_ok=True)
        tls = [TlsHost(f"tls-{i:03d}", tls_ip(i), 443) for i in range(n_tls)]
        banners = []
        for i, profile in enumerate(PROFILES[:n_banner]):
            wanted = {"ftp": profile.ftp, "ssh": profile.ssh, "smtp": profile.smtp, "http": 1}
            standard = {"ftp": 21, "ssh": 22, "smtp": 25, "http": 80}
            ports = {k: standard[k] + port_offset for k, v in wanted.items() if v}
            banners.append(BannerHost(f"host-{i + 1:02d}", f"127.0.2.{i + 1}", profile, ports))
        fleet = cls(directory, tls, banners)
        try:
            if tls:
                fleet._start_nginx()
            fleet._start_banners(port_offset)
            fleet._wait_ready()
        except BaseException:
            fleet.stop()
            raise
        return fleet

    def _start_nginx(self) -> None:
        d = self.directory
        ca = make_ca(d)
        cert = make_leaf(
            d / "fleet.pem",
            [f"*.{DOMAIN}", DOMAIN],
            issuer=ca,
            key=ec.generate_private_key(ec.SECP256R1()),
        )
        key = cert.with_suffix(".key")
        blocks = "".join(
            f"""
  server {{
    listen {h.ip}:{h.port} ssl;
    server_name {h.server_name};
    ssl_certificate {cert};
    ssl_certificate_key {key};{HARDENED if i % 2 == 0 else LEGACY}
    location / {{ return 200 "{h.name}\\n"; }}
  }}"""
            for i, h in enumerate(self.tls)
        )
        (d / "tmp").mkdir(exist_ok=True)
        conf = d / "nginx.conf"
        conf.write_text(
            f"""worker_processes 2;
worker_rlimit_nofile 8192;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {d}/tmp; proxy_temp_path {d}/tmp; fastcgi_temp_path {d}/tmp;
  uwsgi_temp_path {d}/tmp; scgi_temp_path {d}/tmp;{blocks}
}}
"""
        )
        self.nginx = subprocess.Popen(
            ["nginx", "-p", str(d), "-c", str(conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def _start_banners(self, port_offset: int) -> None:
        for host in self.banners:
            p = host.profile
            for service, port in host.ports.items():
                if service == "http":
                    handler = _http_handler(p.http_server, p.admin_password)
                    server: socketserver.BaseServer = _HttpServer((host.ip, port), handler)
                else:
                    greeting = {"ftp": p.ftp, "ssh": p.ssh, "smtp": p.smtp}[service] or ""
                    attrs = {"greeting": greeting, "kind": service}
                    line_handler = type(f"{service}Handler", (_LineHandler,), attrs)
                    server = _TcpServer((host.ip, port), line_handler)
                self.servers.append(_serve(server, f"{host.name}-{service}"))
            if p.extra_http_port:
                handler = _http_handler("Jetty(9.4.z-SNAPSHOT)", p.admin_password)
                port = p.extra_http_port + port_offset
                self.servers.append(_serve(_HttpServer((host.ip, port), handler), host.name))

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        for ip, port in [(h.ip, h.port) for h in self.tls[-1:]] + [
            (h.ip, p) for h in self.banners for p in h.ports.values()
        ]:
            while True:
                if self.nginx is not None and self.nginx.poll() is not None:
                    raise SystemExit(f"nginx exited; see {self.directory}/nginx-error.log")
                try:
                    socket.create_connection((ip, port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise SystemExit(f"{ip}:{port} did not come up") from None
                    time.sleep(0.1)

    def write_targets(
        self,
        path: Path,
        n_tls: int | None = None,
        banners: bool = True,
        filtered: bool = False,
        timeout: float = 5,
        filtered_timeout: float = 2,
        tls_connections_per_host: int = 5,
        max_concurrent_hosts: int = 10,
    ) -> Path:
        """A targets.yaml for the first `n_tls` endpoints, the banner hosts and, if asked, the
        firewalled host (declared first, so tests meet it before any other host)."""
        ca = (self.directory / "ca.pem").resolve()
        lines = [
            "# written by bench/fleet.py",
            "version: 1",
            "defaults:",
            f"  ca_bundle: {ca}",
            f"  timeout: {timeout:g}",
            f"  tls_connections_per_host: {tls_connections_per_host}",
            f"  max_concurrent_hosts: {max_concurrent_hosts}",
            "targets:",
        ]
        if filtered:
            lines += [
                "  - name: firewalled",
                f"    host: {FILTERED_IP}",
                f"    timeout: {filtered_timeout:g}",
                "    ports: {expected: [443]}",
                f"    tls: [{{port: 443, server_name: fw.{DOMAIN}}}]",
                f"    http: [{{url: 'http://{FILTERED_IP}/'}}]",
                f"    logins: [{{kind: http-basic, url: 'http://{FILTERED_IP}/admin'}}]",
            ]
        for b in self.banners if banners else []:
            lines += [
                f"  - name: {b.name}",
                f"    host: {b.ip}",
                f"    ports: {{expected: {b.declared_ports}, scan: top-1000}}",
                f"    http: [{{url: '{b.http_url}'}}]",
                f"    logins: [{{kind: http-basic, url: '{b.login_url}'}}]",
            ]
        for t in self.tls[:n_tls]:
            lines += [
                f"  - name: {t.name}",
                f"    host: {t.ip}",
                f"    tls: [{{port: {t.port}, server_name: {t.server_name}}}]",
            ]
        path.write_text("\n".join(lines) + "\n")
        return path

    def stop(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()
        self.servers.clear()
        if self.nginx is not None and self.nginx.poll() is None:
            self.nginx.terminate()
            try:
                self.nginx.wait(10)
            except subprocess.TimeoutExpired:
                self.nginx.kill()
                self.nginx.wait()
        self.nginx = None


def main() -> int:
    parser = argparse.ArgumentParser(description="Start a benchmark fleet until Ctrl-C.")
    parser.add_argument("--tls", type=int, default=20, help="TLS endpoints (default 20)")
    parser.add_argument("--banner-hosts", type=int, default=4, help="banner hosts (at most 4)")
    parser.add_argument("--port-offset", type=int, default=0)
    parser.add_argument("--dir", type=Path, required=True, help="working directory")
    args = parser.parse_args()
    fleet = Fleet.start(args.dir, args.tls, args.banner_hosts, args.port_offset)
    try:
        targets = fleet.write_targets(args.dir / "targets.yaml")
        print(f"fleet up: {len(fleet.tls)} TLS endpoints, {len(fleet.banners)} banner hosts")
        print(f"targets file: {targets}")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    finally:
        fleet.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
