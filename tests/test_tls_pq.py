"""tls.post_quantum against real servers: a TLS 1.3 server with ML-KEM (pyOpenSSL over
cryptography's OpenSSL 3.5, whose default groups put X25519MLKEM768 first) passes; Python's ssl
over Debian's OpenSSL 3.0 (no ML-KEM) fails; a TLS 1.2 server is skipped; a server that goes
quiet after the scan is broken, never passed. The hand-written ClientHello and its parser are
also fed hostile answers."""

from __future__ import annotations

import random
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from allure_results import by_target_and_check
from OpenSSL import SSL
from tls_servers import HOST, https_server, make_pki, strong_context

from harness.probes.tls.pq import HYBRID_GROUPS, NotTls13, client_hello, parse_answer, probe

SUITE = Path(__file__).parents[1] / "suites" / "test_tls.py"


class PqServer:
    """A TLS 1.3 server on pyOpenSSL: cryptography's bundled OpenSSL 3.5 speaks ML-KEM."""

    def __init__(self, cert: Path) -> None:
        self.ctx = SSL.Context(SSL.TLS_METHOD)
        self.ctx.set_min_proto_version(SSL.TLS1_2_VERSION)
        self.ctx.use_certificate_chain_file(str(cert))
        self.ctx.use_privatekey_file(str(cert.with_suffix(".key")))
        self.sock = socket.create_server((HOST, 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                raw, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._one, args=(raw,), daemon=True).start()

    def _one(self, raw: socket.socket) -> None:
        # pyOpenSSL needs a blocking socket (with a timeout set, a read that would wait raises
        # WantReadError and the handshake is dropped at random); the kernel bounds the wait
        raw.setblocking(True)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 5, 0))
        conn = SSL.Connection(self.ctx, raw)
        conn.set_accept_state()
        try:
            conn.do_handshake()
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        except (SSL.Error, OSError):
            pass
        finally:
            raw.close()

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[tuple[str, str], Any]]:
    d = tmp_path_factory.mktemp("pq")
    pki = make_pki(d)
    pq = PqServer(pki.leaf("pq", ["pq.test"]))
    classic = https_server(strong_context(pki.leaf("classic", ["classic.test"])))
    tls12 = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls12.maximum_version = ssl.TLSVersion.TLSv1_2
    tls12.set_ciphers("ECDHE+AESGCM")
    leaf = pki.leaf("tls12", ["tls12.test"])
    tls12.load_cert_chain(leaf, leaf.with_suffix(".key"))
    only12 = https_server(tls12)
    ports = {"pq": pq.port, "classic": classic[0], "tls12": only12[0]}
    lines = ["version: 1", f"defaults: {{ca_bundle: {pki.bundle}, timeout: 5}}", "targets:"]
    for name, port in ports.items():
        lines += [
            f"  - name: {name}",
            f"    host: {HOST}",
            f"    tls: [{{port: {port}, server_name: {name}.test}}]",
        ]
    (d / "targets.yaml").write_text("\n".join(lines) + "\n")
    shutil.copy(SUITE, d / "test_tls.py")
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "test_tls.py", "--targets", "targets.yaml"),
            *("-p", "no:cacheprovider", "--alluredir", "allure", "-q", "-rN"),
            *("-k", "post_quantum or tls_protocols"),
        ],
        cwd=d,
        capture_output=True,
        text=True,
        timeout=300,
    )
    pq.close()
    classic[1].shutdown()
    only12[1].shutdown()
    results = by_target_and_check(d / "allure")
    results[("", "stdout")] = proc.stdout + proc.stderr
    yield results


def _result(run: dict[tuple[str, str], Any], target: str) -> tuple[str, str, str]:
    r = run.get((target, "tls.post_quantum"))
    assert r is not None, run[("", "stdout")][-3000:]
    text = r.get("statusDetails", {}).get("message", "") + r.get("description", "")
    steps = str(r.get("steps", "")) + str(r.get("parameters", ""))
    return r["status"], text, steps


def test_a_server_with_ml_kem_passes(run: dict[tuple[str, str], Any]) -> None:
    status, text, _ = _result(run, "pq")
    assert status == "passed", text


def test_a_tls13_server_without_ml_kem_fails(run: dict[tuple[str, str], Any]) -> None:
    status, text, _ = _result(run, "classic")
    assert status == "failed", text
    assert "X25519MLKEM768" in text


def test_a_tls12_server_is_skipped(run: dict[tuple[str, str], Any]) -> None:
    status, text, _ = _result(run, "tls12")
    assert status == "skipped", text


def _listener(answer: bytes | None) -> tuple[socket.socket, int]:
    """A loopback listener that reads the ClientHello, sends `answer` (None: nothing), closes."""
    server = socket.create_server((HOST, 0))

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            if answer is not None:
                conn.sendall(answer)
                conn.recv(1)  # keep it open until the client closes

    threading.Thread(target=serve, daemon=True).start()
    return server, server.getsockname()[1]


@pytest.mark.parametrize(
    "answer",
    [
        None,
        b"\x16\x03\x03\x00\x10" + b"\x02" * 5,
        b"\x16\x03\x03\xff\xff",
        b"HTTP/1.1 400 Bad\r\n\r\n",
    ],
    ids=["silent", "truncated", "oversized", "not-tls"],
)
def test_a_bad_answer_is_an_error_never_a_verdict(answer: bytes | None) -> None:
    server, port = _listener(answer)
    try:
        with pytest.raises((OSError, ValueError)):
            probe(lambda: socket.create_connection((HOST, port), timeout=1.0), "x.test", 1.0)
    finally:
        server.close()


def test_the_client_hello_offers_only_the_hybrid_groups_and_no_key_share() -> None:
    hello = client_hello("pq.test")
    assert hello[:3] == b"\x16\x03\x01" and struct.unpack("!H", hello[3:5])[0] == len(hello) - 5
    groups = b"".join(struct.pack("!H", g) for g in HYBRID_GROUPS)
    assert (
        struct.pack("!HH", 0x000A, len(groups) + 2) + struct.pack("!H", len(groups)) + groups
        in hello
    )
    assert struct.pack("!HHH", 0x0033, 2, 0) in hello  # key_share with no entries
    assert b"pq.test" in hello


def test_the_parser_survives_random_answers() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        fragment = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 120)))
        if rng.random() < 0.5 and fragment:
            fragment = b"\x02" + fragment[1:]
        try:
            parse_answer(rng.choice([0x15, 0x16, 0x17]), fragment)
        except (ValueError, NotTls13):
            pass
