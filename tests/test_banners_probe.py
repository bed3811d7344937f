"""The banner probe against real listeners: greetings, headers, TLS, and nmap's -sV via the
port probe's result, with read limits and timeouts that never hang."""

from __future__ import annotations

import itertools
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Iterator

import hostile_servers as hs
import pytest
import trustme
from checking import at
from probe_context import RecordingContext

from harness.errors import CouldNotMeasure, FailureKind, ProbeFailure
from harness.inventory import loads
from harness.lab.net_services import http_banner, tarpit, tcp_service
from harness.policy.banners import disclosure, outdated
from harness.probes.banners import BannersProbe
from harness.probes.banners_model import BannerScan
from harness.probes.ports import PortsProbe
from harness.probes.ports_model import OpenPort, PortScan
from harness.session.subjects import probe_jobs, subjects

MAIL, WEB = "127.0.50.21", "127.0.50.22"


class _Drip(socketserver.BaseRequestHandler):
    """Answers HTTP one byte at a time, each well within the timeout, and never finishes."""

    def handle(self) -> None:
        try:
            self.request.recv(4096)
            for byte in itertools.cycle(b"HTTP/1.1 200 OK\r\nServer: drip/1.0"):
                self.request.sendall(bytes([byte]))
                time.sleep(0.1)
        except OSError:
            return


def _drip(host: str) -> socketserver.ThreadingTCPServer:
    server = socketserver.ThreadingTCPServer((host, 0), _Drip)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _closed_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def run() -> Iterator[RecordingContext]:
    ca = trustme.CA()
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("web.test").configure_cert(server_ctx)
    servers = {
        "ftp": tcp_service(MAIL, 0, greeting=b"220 (vsFTPd 2.3.4)\r\n"),
        # nmap's FTP signatures are anchored to the first line, so it cannot name this one
        "ftp-multi": tcp_service(
            MAIL, 0, greeting=b"220-Welcome to the lab\r\n220 ProFTPD 1.3.5e Server (Debian)\r\n"
        ),
        "smtp": tcp_service(
            MAIL, 0, greeting=b"220 mx.lab.test ESMTP Exim 4.96 Sun, 29 Nov 2026 10:00:00 +0000\r\n"
        ),
        "pop3": tcp_service(MAIL, 0, greeting=b"+OK Dovecot (Debian) ready.\r\n"),
        "imap": tcp_service(MAIL, 0, greeting=b"* OK [CAPABILITY IMAP4rev1] Dovecot ready.\r\n"),
        "ssh": tcp_service(MAIL, 0, greeting=b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10\r\n"),
        "http": http_banner(
            MAIL,
            headers=(
                ("Server", "nginx/1.18.0 (Ubuntu)"),
                ("X-Powered-By", "PHP/8.1.2-1ubuntu2.14"),
                ("Date", "Sun, 29 Nov 2026 10:00:00 GMT"),
            ),
        ),
        "https": http_banner(WEB, headers=(("Server", "Apache/2.4.52 (Ubuntu)"),), tls=server_ctx),
        "tarpit": tarpit(WEB),
        "drip": _drip(WEB),
    }
    port = {name: s.server_address[1] for name, s in servers.items()}
    garbage = hs.Hostile(hs.garbage, WEB)  # answers anything with random bytes
    port["garbage"] = garbage.port
    mail_ports = ",".join(
        str(port[n]) for n in ("ftp", "ftp-multi", "smtp", "pop3", "imap", "ssh", "http")
    )
    inv = loads(
        f"""\
version: 1
defaults: {{timeout: 1}}
targets:
  - {{name: mail, host: {MAIL}, ports: {{scan: "{mail_ports}"}}}}
  - name: web
    host: {WEB}
    http: [{{url: "https://{WEB}:{port["https"]}/"}}]
  - {{name: down, host: {WEB}, http: [{{url: "http://{WEB}:{_closed_port(WEB)}/"}}]}}
  - {{name: noscan, host: {WEB}, ports: {{scan: "22"}}}}
  - {{name: slow, host: {WEB}, timeout: 0.5, ports: {{scan: "{port["tarpit"]}"}}}}
  - {{name: drip, host: {WEB}, timeout: 0.5, http: [{{url: "http://{WEB}:{port["drip"]}/"}}]}}
  - {{name: garbage, host: {WEB}, timeout: 0.5, ports: {{scan: "{port["garbage"]}"}}}}
"""
    )
    ports_ctx = RecordingContext(inv)
    wanted = {j.key for j in subjects(inv, "banners")}
    PortsProbe().run(
        [j for j in probe_jobs(inv, "banners", "ports", wanted) if j.key == "mail"], ports_ctx
    )
    ctx = RecordingContext(inv)
    ctx.ports = {
        "mail": ports_ctx.results["mail"],
        "noscan": ProbeFailure(FailureKind.TIMEOUT, "noscan", "nmap gave up"),
        # nmap guessed "http" from the port number; the port is a tarpit
        "slow": PortScan(WEB, WEB, "x", (OpenPort(port["tarpit"], "tcp", "http"),), 0, 0, 0.0),
        # the same guess on a port that answers with random bytes
        "garbage": PortScan(WEB, WEB, "x", (OpenPort(port["garbage"], "tcp", "http"),), 0, 0, 0.0),
    }
    started = time.monotonic()
    BannersProbe().run(subjects(inv, "banners"), ctx)
    ctx.lines.append(f"took {time.monotonic() - started:.1f}")
    yield ctx
    garbage.close()
    for server in servers.values():
        server.shutdown()
        server.server_close()


def _texts(scan: BannerScan) -> dict[str, str]:
    return {b.source: b.text for b in scan.banners if b.source != "nmap -sV"}


def test_greetings_and_identification_strings(run: RecordingContext) -> None:
    mail = run.results["mail"]
    assert isinstance(mail, BannerScan), mail
    texts = _texts(mail)
    assert texts["FTP greeting"] == "220 (vsFTPd 2.3.4)"
    # read directly although nmap could not name the service; the whole multi-line reply
    assert texts["service greeting"] == "220-Welcome to the lab 220 ProFTPD 1.3.5e Server (Debian)"
    assert texts["SMTP greeting"].startswith("220 mx.lab.test ESMTP Exim 4.96")
    assert texts["POP3 greeting"] == "+OK Dovecot (Debian) ready."
    assert texts["IMAP greeting"] == "* OK [CAPABILITY IMAP4rev1] Dovecot ready."
    assert texts["SSH identification string"] == "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10"


def test_http_headers_from_an_open_port(run: RecordingContext) -> None:
    mail = run.results["mail"]
    texts = _texts(mail)
    assert texts["Server header"] == "nginx/1.18.0 (Ubuntu)"
    assert texts["X-Powered-By header"] == "PHP/8.1.2-1ubuntu2.14"
    assert "Date header" not in texts  # only headers that can name software are kept
    server = next(b for b in mail.banners if b.source == "Server header")
    assert server.where.startswith("http on port ")


def test_nmap_versions_come_from_the_port_probe(run: RecordingContext) -> None:
    nmap = {b.product: b for b in run.results["mail"].banners if b.source == "nmap -sV"}
    assert nmap["vsftpd"].version == "2.3.4" and nmap["Exim smtpd"].version == "4.96"
    assert nmap["OpenSSH"].version.startswith("8.9p1 Ubuntu")
    assert any(c.startswith("cpe:/a:openbsd:openssh:8.9p1") for c in nmap["OpenSSH"].cpes)


def test_declared_https_endpoint_is_read_over_tls(run: RecordingContext) -> None:
    web = run.results["web"]
    assert isinstance(web, BannerScan), web
    assert _texts(web) == {"Server header": "Apache/2.4.52 (Ubuntu)"}
    assert web.banners[0].where.startswith("https://127.0.50.22:")


def test_unreachable_declared_endpoint_could_not_be_measured(run: RecordingContext) -> None:
    down = run.results["down"]
    assert isinstance(down, ProbeFailure) and down.kind is FailureKind.REFUSED
    assert "connection refused" in down.reason


def test_failed_port_scan_means_banners_could_not_be_measured(run: RecordingContext) -> None:
    noscan = run.results["noscan"]
    assert isinstance(noscan, ProbeFailure) and noscan.kind is FailureKind.TIMEOUT
    assert "the port scan failed" in noscan.reason and "nmap gave up" in noscan.reason


def test_silent_port_is_a_note_and_never_hangs(run: RecordingContext) -> None:
    slow = run.results["slow"]
    assert isinstance(slow, BannerScan) and slow.banners == ()
    assert any("no complete answer within 1 s" in n for n in slow.notes), slow.notes


def test_a_silent_port_is_no_banner_pass(run: RecordingContext) -> None:
    """The tarpit said nothing to the grab, nor to nmap -sV: both checks are broken, and the
    reason names each source tried."""
    slow = run.results["slow"]
    assert isinstance(slow, BannerScan)
    assert [s.answered for s in slow.sources] == [False, False], slow.sources
    for check in (disclosure, outdated):
        with pytest.raises(CouldNotMeasure) as info:
            check(slow, at())
        reason = info.value.failure.reason
        assert info.value.failure.kind is FailureKind.TIMEOUT
        assert "no source said a single byte" in reason
        assert (
            "http on port" in reason and "(HTTP headers): no complete answer within 1 s" in reason
        )
        assert "nmap -sV of port" in reason and "no answer to any probe" in reason


def test_a_port_that_answered_garbage_passes_with_the_note(run: RecordingContext) -> None:
    scan = run.results["garbage"]
    assert isinstance(scan, BannerScan) and scan.banners == ()
    grab = scan.sources[0]
    # the grab failed (random bytes are no HTTP head), but the server did say something
    assert grab.answered and grab.kind is not None, grab
    assert any(n.startswith("could not read http on port") for n in scan.notes), scan.notes
    assert disclosure(scan, at()).ok
    verdict = outdated(scan, at())
    assert verdict.ok
    assert any("no banner names a catalogued product" in n for n in verdict.notes)


def test_dripping_server_is_cut_off_by_the_deadline(run: RecordingContext) -> None:
    drip = run.results["drip"]
    assert isinstance(drip, ProbeFailure) and drip.kind is FailureKind.TIMEOUT
    assert "no complete answer within 1 s" in drip.reason


def test_evidence_and_progress(run: RecordingContext) -> None:
    assert ("mail", "banners of mail") in [(k, n) for k, n, _ in run.evidence]
    assert any(line.startswith("mail: ") and "banner(s)" in line for line in run.lines)
