"""Real TLS servers for the TLS tests, with certificates made fresh for each run.

Every server binds an ephemeral port on 127.0.0.1 and runs in daemon threads: HTTPS servers
(Python ssl, with or without HSTS), a legacy one at @SECLEVEL=0, a STARTTLS SMTP server, a
closed port and a port that accepts TCP but never speaks.
"""

from __future__ import annotations

import datetime as dt
import socket
import socketserver
import ssl
import subprocess
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dh, ec, rsa
from cryptography.x509.oid import NameOID

from harness.lab.pki import make_leaf

HOST = "127.0.0.1"
TWO_YEARS = "max-age=63072000"
# RFC 2409 group 2 (1024-bit MODP): a well-known weak DH group, no slow generation needed
_MODP_1024 = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A0879"
    "8E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B"
    "0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF",
    16,
)


@dataclass
class Pki:
    """An EC and an RSA test CA (ten years either side of today) and the bundle trusting both."""

    directory: Path
    ec_ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey]
    rsa_ca: tuple[x509.Certificate, rsa.RSAPrivateKey]
    bundle: Path

    def leaf(
        self,
        name: str,
        names: list[str],
        *,
        days: tuple[int, int] = (-1, 89),
        key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | None = None,
        issuer: str = "ec",
        digest: hashes.HashAlgorithm | None = None,
        aki: bool = True,
    ) -> Path:
        """Write name.pem/.key; issuer 'ec', 'rsa' or 'self'."""
        ca = {"ec": self.ec_ca, "rsa": self.rsa_ca, "self": None}[issuer]
        return make_leaf(
            self.directory / f"{name}.pem",
            names,
            issuer=ca,  # type: ignore[arg-type]
            key=key or ec.generate_private_key(ec.SECP256R1()),
            days_valid=days,
            digest=digest,
            aki=aki,
        )


def _ca(cn: str, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=3650))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def make_pki(directory: Path) -> Pki:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_ca, rsa_ca = _ca("harness test EC CA", ec_key), _ca("harness test RSA CA", rsa_key)
    bundle = directory / "ca-bundle.pem"
    bundle.write_bytes(
        b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (ec_ca, rsa_ca))
    )
    return Pki(directory, (ec_ca, ec_key), (rsa_ca, rsa_key), bundle)


# ---------------------------------------------------------------------------------- contexts


def strong_context(cert: Path, *, tls13_only: bool = False) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3 if tls13_only else ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("ECDHE+AESGCM:ECDHE+CHACHA20")
    ctx.set_ecdh_curve("prime256v1")
    ctx.load_cert_chain(cert, cert.with_suffix(".key"))
    return ctx


def legacy_context(cert: Path, directory: Path) -> ssl.SSLContext:
    """TLS 1.0-1.2, NULL and anonymous suites, static RSA, CBC, 1024-bit DH, OpenSSL's groups."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.set_ciphers("ALL:eNULL:@SECLEVEL=0")
    with warnings.catch_warnings():  # the deprecation is the point: a legacy server
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    params = dh.DHParameterNumbers(_MODP_1024, 2).parameters()
    dh_file = directory / "dh1024.pem"
    dh_file.write_bytes(
        params.parameter_bytes(serialization.Encoding.PEM, serialization.ParameterFormat.PKCS3)
    )
    ctx.load_dh_params(str(dh_file))
    ctx.load_cert_chain(cert, cert.with_suffix(".key"))
    return ctx


# ----------------------------------------------------------------------------------- servers


class _QuietHTTPServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        return  # scanners abort handshakes on purpose; their tracebacks are noise


def https_server(
    ctx: ssl.SSLContext, hsts: str | None = TWO_YEARS
) -> tuple[int, ThreadingHTTPServer]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            body = b"<h1>test</h1>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            if hsts:
                self.send_header("Strict-Transport-Security", hsts)
            self.end_headers()
            self.wfile.write(body)

        do_HEAD = do_GET

    server = _QuietHTTPServer((HOST, 0), Handler)
    server.daemon_threads = True
    server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1], server


class _QuietTCPServer(socketserver.ThreadingTCPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        return


def smtp_starttls_server(
    ctx: ssl.SSLContext, host: str = HOST, greeting: bytes = b"220 mail.test ESMTP test\r\n"
) -> tuple[int, socketserver.ThreadingTCPServer]:
    """Just enough SMTP for STARTTLS: greeting, EHLO with STARTTLS, then TLS, then QUIT."""

    class Handler(socketserver.StreamRequestHandler):
        timeout = 10

        def handle(self) -> None:
            conn = self.connection
            try:
                conn.sendall(greeting)
                reader = conn.makefile("rb")
                while line := reader.readline(1024):
                    cmd = line.strip().upper()
                    if cmd.startswith((b"EHLO", b"HELO")):
                        conn.sendall(b"250-mail.test\r\n250-STARTTLS\r\n250 8BITMIME\r\n")
                    elif cmd == b"STARTTLS":
                        conn.sendall(b"220 2.0.0 Ready to start TLS\r\n")
                        tls = ctx.wrap_socket(conn, server_side=True)
                        _smtp_after_tls(tls)
                        return
                    elif cmd == b"QUIT":
                        conn.sendall(b"221 bye\r\n")
                        return
                    else:
                        conn.sendall(b"502 command not implemented\r\n")
            except (OSError, ssl.SSLError):
                return

    server = _QuietTCPServer((host, 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1], server


def _smtp_after_tls(tls: ssl.SSLSocket) -> None:
    reader = tls.makefile("rb")
    while line := reader.readline(1024):
        if line.strip().upper().startswith((b"EHLO", b"HELO")):
            tls.sendall(b"250-mail.test\r\n250 8BITMIME\r\n")
        elif line.strip().upper() == b"QUIT":
            tls.sendall(b"221 bye\r\n")
            return
        else:
            tls.sendall(b"250 ok\r\n")


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@contextmanager
def silent_port() -> Iterator[int]:
    """A port whose kernel completes the TCP handshake, while nobody ever reads or writes."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        s.listen(64)
        yield int(s.getsockname()[1])


def s_server(
    cert: Path, *extra: str, host: str = HOST, cwd: Path | None = None
) -> tuple[int, subprocess.Popen[bytes]]:
    """Debian's `openssl s_server -www` (one connection at a time) on a free port of `host`,
    with `extra` options; returns once it listens (tried again if the port was taken)."""
    for _ in range(20):
        with socket.socket() as s:
            s.bind((host, 0))
            port = int(s.getsockname()[1])
        proc = subprocess.Popen(
            [
                *("openssl", "s_server", "-accept", f"{host}:{port}", "-www", "-quiet"),
                *("-cert", str(cert), "-key", str(cert.with_suffix(".key")), *extra),
            ],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):  # until it listens (or gave up because the port was taken)
            if proc.poll() is not None:
                break
            with socket.socket() as probe:
                if probe.connect_ex((host, port)) == 0:
                    return port, proc
            time.sleep(0.05)
        proc.kill()
        proc.wait()
    raise RuntimeError("openssl s_server did not start")
