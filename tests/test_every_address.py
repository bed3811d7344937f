"""Every address of a name: real servers on 127.0.0.1 and ::1, one name for both.

`localhost` resolves only to 127.0.0.1 on some machines (this one's /etc/hosts), so the run's
conftest uses the resolver seam (harness.probes.addresses.RESOLVER) to give `localhost` both
loopback addresses, as a DNS round robin would. Everything after the name lookup is real: sslyze,
nmap and the banner grabs connect to each address, where a different certificate, port set or
banner is served. A defect on either address must fail the check and name that address; an
address that cannot be measured makes the check broken even though the other one passed.
"""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from allure_results import assert_status, by_target_and_check, fixture_attachments
from login_servers import Config, LoginApp
from tls_servers import make_pki, strong_context

from harness import known
from harness.checks import get_check
from harness.errors import FailureKind, InventoryError, ProbeFailure
from harness.inventory import Settings, Target, TlsEndpoint, loads
from harness.outcome import Finding, Verdict
from harness.probes import Job
from harness.probes.addresses import resolve
from harness.session.per_address import combine
from harness.session.verdicts import decide, identities

SUITES = Path(__file__).parents[1] / "suites"
V4, V6 = "127.0.0.1", "::1"
CONFTEST = """
from harness.probes import addresses

def _both(host):
    # the seam: localhost as a round-robin name with one IPv4 and one IPv6 address
    return ["127.0.0.1", "::1"] if host == "localhost" else addresses.system_resolver(host)

addresses.RESOLVER = _both
"""


class _Quiet(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        return


class _Quiet6(_Quiet):
    address_family = socket.AF_INET6


def _server(host: str, port: int, banner: str, ctx: ssl.SSLContext | None) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version, sys_version = banner, ""

        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            body = b"<h1>test</h1>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Strict-Transport-Security", "max-age=63072000")
            self.end_headers()
            self.wfile.write(body)

    server = (_Quiet6 if ":" in host else _Quiet)((host, port), Handler)
    if ctx is not None:
        server.socket = ctx.wrap_socket(
            server.socket, server_side=True, do_handshake_on_connect=False
        )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _pair(
    v4: tuple[str, ssl.SSLContext | None] | None, v6: tuple[str, ssl.SSLContext | None] | None
) -> tuple[int, list[ThreadingHTTPServer]]:
    """Servers on the same port of 127.0.0.1 and ::1 (None: that address has the port closed)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind((V4, 0))
            port = probe.getsockname()[1]
        started: list[ThreadingHTTPServer] = []
        try:
            for host, spec in ((V4, v4), (V6, v6)):
                if spec is not None:
                    started.append(_server(host, port, spec[0], spec[1]))
                else:  # the port is free here, so it is closed on this address
                    family = socket.AF_INET6 if ":" in host else socket.AF_INET
                    with socket.socket(family) as s:
                        s.bind((host, port))
            return port, started
        except OSError:
            for s in started:
                s.shutdown()
                s.server_close()
    raise RuntimeError("no port free on both loopback addresses")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[tuple[str, str], Any]]:
    d = tmp_path_factory.mktemp("addresses")
    pki = make_pki(d)
    good = strong_context(pki.leaf("good", ["localhost"]))
    untrusted = strong_context(pki.leaf("self", ["localhost"], issuer="self"))
    ports: dict[str, int] = {}
    servers: list[ThreadingHTTPServer] = []
    for name, v4, v6 in (
        ("tls-v6-bad", ("x", good), ("x", untrusted)),
        ("tls-v4-bad", ("x", untrusted), ("x", good)),
        ("tls-both-good", ("x", good), ("x", good)),
        ("tls-v6-closed", ("x", good), None),
        ("only-v4", ("Apache", None), None),
        ("only-v6", None, ("Apache", None)),
        ("old-v4", ("Apache/2.2.15", None), ("Apache", None)),
        ("old-v6", ("Apache", None), ("Apache/2.2.15", None)),
    ):
        ports[name], started = _pair(v4, v6)
        servers += started
    lines = ["version: 1", f"defaults: {{ca_bundle: {pki.bundle}, timeout: 3}}", "targets:"]
    for name in ("tls-v6-bad", "tls-v4-bad", "tls-both-good", "tls-v6-closed"):
        lines.append(f"  - {{name: {name}, host: localhost, tls: [{{port: {ports[name]}}}]}}")
    lines.append(
        f"  - {{name: tls-first, host: localhost, addresses: first,"
        f" tls: [{{port: {ports['tls-v6-bad']}}}]}}"
    )
    scan = f"{ports['only-v4']},{ports['only-v6']}"
    for name, expected in (("ports-v6-extra", "only-v4"), ("ports-v4-extra", "only-v6")):
        lines.append(
            f"  - {{name: {name}, host: localhost,"
            f" ports: {{scan: '{scan}', expected: [{ports[expected]}]}}}}"
        )
    for name in ("old-v4", "old-v6"):
        lines.append(
            f"  - {{name: {name}, host: localhost, http: [{{url: 'http://localhost:{ports[name]}/'}}]}}"
        )
    login = LoginApp(Config(accounts={"admin": "admin"}))
    lines.append(
        "  - {name: login-by-name, host: localhost, logins: [{kind: http-basic,"
        f" url: 'http://localhost:{login.port}/admin'}}]}}"
    )
    (d / "targets.yaml").write_text("\n".join(lines) + "\n")
    (d / "conftest.py").write_text(CONFTEST)
    for suite in ("test_tls.py", "test_ports.py", "test_banners.py", "test_logins.py"):
        shutil.copy(SUITES / suite, d / suite)
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "test_tls.py", "test_ports.py"),
            *("test_banners.py", "test_logins.py", "--targets", "targets.yaml"),
            *("-p", "no:cacheprovider", "--alluredir", "allure", "-q", "-rN"),
            *("-k", "cert.trust or unexpected or outdated or default_credentials"),
        ],
        cwd=d,
        capture_output=True,
        text=True,
        timeout=600,
    )
    for s in servers:
        s.shutdown()
        s.server_close()
    login.close()
    results = by_target_and_check(d / "allure")
    results[("", "stdout")] = proc.stdout + proc.stderr
    results[("", "attachments")] = fixture_attachments(d / "allure")
    results[("", "ports")] = ports
    yield results


def _message(run: dict[tuple[str, str], Any], target: str, check: str) -> str:
    return str(run[(target, check)].get("statusDetails", {}).get("message", ""))


def _addresses(run: dict[tuple[str, str], Any], target: str, check: str) -> list[str]:
    return sorted(lb["value"] for lb in run[(target, check)]["labels"] if lb["name"] == "address")


@pytest.mark.parametrize(("target", "bad"), [("tls-v6-bad", V6), ("tls-v4-bad", V4)])
def test_an_untrusted_certificate_on_either_address_fails_and_is_named(
    run: dict[tuple[str, str], Any], target: str, bad: str
) -> None:
    assert_status(run, target, "tls.cert.trust", "failed")
    message = _message(run, target, "tls.cert.trust")
    assert f"at {bad}: the certificate for localhost is self-signed" in message
    good = V4 if bad == V6 else V6
    assert f"at {good}: the certificate" not in message  # the healthy address has no finding
    assert f"at {good}: localhost: trusted by" in message  # what the healthy address showed
    assert _addresses(run, target, "tls.cert.trust") == sorted([V4, V6])
    # the finding's identity (known-findings file, SARIF fingerprint) is the bad address's
    labels = run[(target, "tls.cert.trust")]["labels"]
    ids = [lb["value"] for lb in labels if lb["name"] == "finding_id"]
    assert ids and all(i.partition("#")[0].endswith(f"@{bad}") for i in ids), ids


def test_both_addresses_healthy_passes_with_evidence_from_each(
    run: dict[tuple[str, str], Any],
) -> None:
    assert_status(run, "tls-both-good", "tls.cert.trust", "passed")
    assert _addresses(run, "tls-both-good", "tls.cert.trust") == sorted([V4, V6])
    port = run[("", "ports")]["tls-both-good"]
    names = run[("", "attachments")]
    for address in (V4, V6):
        assert f"sslyze scan of tls-both-good:{port}@{address}" in names, names


def test_an_unmeasured_address_is_broken_though_the_other_passed(
    run: dict[tuple[str, str], Any],
) -> None:
    assert_status(run, "tls-v6-closed", "tls.cert.trust", "broken")
    message = _message(run, "tls-v6-closed", "tls.cert.trust")
    assert f"at {V6}: " in message and "refused" in message
    assert f"measured and passed at {V4}" in message


def test_addresses_first_probes_only_the_first(run: dict[tuple[str, str], Any]) -> None:
    # the same endpoint as tls-v6-bad, but the target opted out: only 127.0.0.1 is probed
    assert_status(run, "tls-first", "tls.cert.trust", "passed")
    assert _addresses(run, "tls-first", "tls.cert.trust") == [V4]


@pytest.mark.parametrize(
    ("target", "extra", "where"),
    [("ports-v6-extra", "only-v6", V6), ("ports-v4-extra", "only-v4", V4)],
)
def test_a_port_open_on_either_address_is_found_and_named(
    run: dict[tuple[str, str], Any], target: str, extra: str, where: str
) -> None:
    assert_status(run, target, "ports.unexpected", "failed")
    message = _message(run, target, "ports.unexpected")
    port = run[("", "ports")][extra]
    assert f"at {where}: port {port}/tcp is open but not in ports.expected" in message
    other = V4 if where == V6 else V6
    assert f"at {other}: port" not in message


@pytest.mark.parametrize(("target", "old"), [("old-v4", V4), ("old-v6", V6)])
def test_an_outdated_banner_on_either_address_fails_and_is_named(
    run: dict[tuple[str, str], Any], target: str, old: str
) -> None:
    assert_status(run, target, "banner.outdated", "failed")
    message = _message(run, target, "banner.outdated")
    assert f"at {old}: Apache httpd 2.2.15 (Server header of http://localhost:" in message
    other = V4 if old == V6 else V6
    assert f"at {other}: Apache httpd" not in message


def test_logins_stay_on_the_name_and_say_which_address_answered(
    run: dict[tuple[str, str], Any],
) -> None:
    # the login server listens on 127.0.0.1 only; a client connecting to localhost reaches it
    assert_status(run, "login-by-name", "login.default_credentials", "failed")
    assert "localhost answered at 127.0.0.1" in _message(
        run, "login-by-name", "login.default_credentials"
    )
    assert _addresses(run, "login-by-name", "login.default_credentials") == [V4]


# ------------------------------------------------------------------- pure logic: the folding


def test_identical_findings_are_told_once_with_both_addresses() -> None:
    same = Verdict(findings=(Finding("TLS 1.0 is offered"),), notes=("grade B",))
    combined = combine({V4: same, V6: same}, {}, named=True, where="w")
    assert combined.verdict is not None
    assert [f.text for f in combined.verdict.findings] == [f"at {V4} and {V6}: TLS 1.0 is offered"]
    assert combined.verdict.notes == ("grade B",)


def test_a_finding_wins_over_an_unmeasured_address_and_names_it() -> None:
    bad = Verdict.of("expired")
    down = ProbeFailure(FailureKind.TIMEOUT, "w", "no answer within 3 s")
    combined = combine({V4: bad}, {V6: down}, named=True, where="w")
    assert combined.verdict is not None and combined.failure is None
    assert combined.verdict.findings[0].text == f"at {V4}: expired"
    assert f"could not measure at {V6}: no answer within 3 s" in combined.verdict.notes


def test_a_finding_has_an_identity_on_each_address_it_was_seen_on() -> None:
    check = get_check("tls.cert.trust")
    ep = TlsEndpoint(port=443)
    job = Job("web:443", Target(name="web", host="web.test", tls=[ep]), ep, Settings())
    selfsigned = Finding("self-signed", key="fp1")
    combined = combine(
        {
            V4: Verdict(findings=(selfsigned,)),
            V6: Verdict(findings=(selfsigned, Finding("x", key="fp2"))),
        },
        {},
        named=True,
        where="w",
    )
    assert combined.verdict is not None
    base = f"{check.id}@web:443"
    assert identities(check, job, combined.verdict) == (
        f"{base}@{V4}#fp1",
        f"{base}@{V6}#fp1",
        f"{base}@{V6}#fp2",
    )
    # fixed on one address of the name: what remains open elsewhere is not new
    previous = {
        i: known.Known(check.id, job.key, dt.date(2026, 11, 1))
        for i in (f"{base}@{V4}#fp1", f"{base}@{V6}#fp1", f"{base}@{V6}#fp2")
    }
    only_v6 = combine({V4: Verdict(), V6: Verdict(findings=(selfsigned,))}, {}, True, "w")
    assert only_v6.verdict is not None
    decision = decide(check, job, only_v6.verdict, [], previous, dt.date(2026, 11, 30))
    assert decision.finding_ids == (f"{base}@{V6}#fp1",) and decision.new is False
    # a host that is an address: no address in the identity, as before
    plain = Job("a:443", Target(name="a", host=V4, tls=[ep]), ep, Settings())
    assert identities(check, plain, Verdict(findings=(selfsigned,))) == (f"{check.id}@a:443#fp1",)


def test_not_applicable_everywhere_is_not_applicable() -> None:
    na = Verdict.skip("not HTTPS")
    combined = combine({V4: na, V6: na}, {}, named=True, where="w")
    assert combined.verdict is not None and combined.verdict.not_applicable


# ------------------------------------------------------------------- resolution and inventory


def test_an_address_host_is_itself_and_a_bad_value_is_a_clear_error() -> None:
    inv = loads("version: 1\ntargets: [{name: a, host: 127.0.0.1}]\n")
    assert resolve(inv.targets[0]).probed == ("127.0.0.1",)
    with pytest.raises(InventoryError) as err:
        loads("version: 1\ntargets: [{name: a, host: localhost, addresses: some}]\n")
    text = err.value.render()
    assert "addresses" in text and "'all' or 'first'" in text


def test_resolution_with_the_seam_keeps_order_and_honours_first() -> None:
    inv = loads(
        "version: 1\ntargets:\n  - {name: a, host: dual.test}\n"
        "  - {name: b, host: dual.test, addresses: first}\n"
    )
    seam = lambda host: [V4, V6]  # noqa: E731
    assert resolve(inv.targets[0], seam).probed == (V4, V6)
    assert resolve(inv.targets[1], seam).probed == (V4,)


def test_a_name_that_does_not_resolve_says_so() -> None:
    inv = loads("version: 1\ntargets: [{name: a, host: nx.invalid}]\n")

    def nx(host: str) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    found = resolve(inv.targets[0], nx)
    assert not found.probed and "nx.invalid does not resolve" in found.error
