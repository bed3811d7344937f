"""The questions discovery asks a found service, against real listeners on loopback: does it offer
STARTTLS, does its web page ask for credentials. A silent service is an unclear answer with a
note, within the timeout, never a yes."""

from __future__ import annotations

import socketserver
import ssl
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import pytest
from gate_watch import waiting_in_the_gate
from login_servers import ftp_server
from tls_servers import HOST, make_pki, smtp_starttls_server, strong_context

from harness.lab.net_services import http_banner, tcp_service
from harness.probes.discovered import Facts
from harness.probes.discovery_facts import ask
from harness.probes.hostgate import GATE


def _ask(question: str, port: int, tls: bool = False) -> Facts:
    return ask(question, HOST, port, timeout=3, per_host=5, tls=tls)


@pytest.fixture(scope="module")
def tls_ctx(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    pki = make_pki(tmp_path_factory.mktemp("pki"))
    return strong_context(pki.leaf("facts", ["localhost", HOST]))


def test_smtp_with_starttls_is_told_from_smtp_without(tls_ctx: ssl.SSLContext) -> None:
    port, server = smtp_starttls_server(tls_ctx)
    plain = tcp_service(HOST, 0, greeting=b"220 mx ESMTP\r\n", reply=b"250-mx\r\n250 8BITMIME\r\n")
    try:
        assert _ask("starttls:smtp", port) == Facts(starttls=True)
        assert _ask("starttls:smtp", plain.server_address[1]) == Facts(starttls=False)
    finally:
        server.shutdown()
        plain.shutdown()


@pytest.mark.parametrize(
    ("protocol", "greeting", "reply", "offered"),
    [
        ("imap", b"* OK ready\r\n", b"* CAPABILITY IMAP4rev1 STARTTLS\r\na1 OK done\r\n", True),
        ("imap", b"* OK ready\r\n", b"* CAPABILITY IMAP4rev1\r\na1 OK done\r\n", False),
        ("pop3", b"+OK ready\r\n", b"+OK capa\r\nUSER\r\nSTLS\r\n.\r\n", True),
        ("pop3", b"+OK ready\r\n", b"+OK capa\r\nUSER\r\n.\r\n", False),
        ("ftp", b"220 ready\r\n", b"211-Features:\r\n AUTH TLS\r\n PBSZ\r\n211 End\r\n", True),
        ("postgres", b"", b"S", True),
        ("postgres", b"", b"N", False),
    ],
)
def test_each_starttls_protocol_is_asked_in_its_own_words(
    protocol: str, greeting: bytes, reply: bytes, offered: bool
) -> None:
    server = tcp_service(HOST, 0, greeting=greeting, reply=reply)
    try:
        assert _ask(f"starttls:{protocol}", server.server_address[1]).starttls is offered
    finally:
        server.shutdown()


def test_an_ftp_without_auth_tls_says_so(tmp_path: Path) -> None:
    server, port = ftp_server(tmp_path / "ftp", {}, anonymous=True)
    try:
        assert _ask("starttls:ftp", port) == Facts(starttls=False)
    finally:
        server.close_all()


def test_a_silent_service_is_unclear_within_the_timeout() -> None:
    server = tcp_service(HOST, 0)  # accepts, says nothing
    try:
        started = time.monotonic()
        facts = _ask("starttls:smtp", server.server_address[1])
        assert facts.starttls is None and "timed out" in facts.note
        assert time.monotonic() - started < 6
    finally:
        server.shutdown()


class _Challenge(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="ops"')
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def challenge() -> Iterator[int]:
    server = ThreadingHTTPServer((HOST, 0), _Challenge)
    Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_a_basic_challenge_at_the_root_is_found(challenge: int) -> None:
    assert _ask("http", challenge) == Facts(http_auth="basic")
    page = http_banner(HOST, headers=(("Server", "nginx"),))
    try:
        assert _ask("http", page.server_address[1]) == Facts(http_auth="")
    finally:
        page.shutdown()


def test_a_question_waits_for_a_slot_of_the_host_budget() -> None:
    """The connection budget per host covers discovery: with the host's one slot taken, the
    question waits, and the service sees no connection until the slot is free."""
    accepted: list[float] = []

    class Counting(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            accepted.append(time.monotonic())
            self.request.sendall(b"+OK ready\r\n")
            if self.request.recv(100):
                self.request.sendall(b"+OK capa\r\nSTLS\r\n.\r\n")

    server = socketserver.ThreadingTCPServer((HOST, 0), Counting)
    server.daemon_threads = True
    Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    answers: list[Facts] = []
    try:
        with GATE.hold(HOST, 1, 1):
            asking = Thread(target=lambda: answers.append(_ask_one("starttls:pop3", port)))
            asking.start()
            deadline = time.monotonic() + 10
            while not waiting_in_the_gate(asking):
                assert time.monotonic() < deadline, "the question never waited for the gate"
                time.sleep(0.01)
            assert accepted == []  # waiting for the slot, not connected
        asking.join(10)
        assert answers == [Facts(starttls=True)] and len(accepted) == 1
    finally:
        server.shutdown()
        server.server_close()


def _ask_one(question: str, port: int) -> Facts:
    return ask(question, HOST, port, timeout=3, per_host=1)
