"""Discovery end to end: real servers on a random loopback address, the real nmap, the suites
run as a CI job runs them.

One host, nothing declared but its port range and discovery: an undeclared weak TLS server
(`openssl s_server -tls1`), an undeclared OpenSSH with legacy algorithms and an undeclared
anonymous FTP. A second target on the same host declares the TLS and SSH ports, so its results
are the declared ones only. nmap runs through a wrapper that logs each call, so the tests can
count the connect scans: discovery's scan is the one the ports checks read, never a second.

The scanned range is the kernel's ephemeral ports (where the servers bind), not `-p-`: other
listeners on 0.0.0.0 that are not ours stay out of the scan. `scan: all` turning discovery on
is tested in test_discovery_model.
"""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

import pytest
from login_servers import ftp_server
from ssh_servers import LEGACY, Sshd, sshd_available
from tls_servers import legacy_context, s_server, smtp_starttls_server

from harness.output import allure_files, completeness, coverage_report, overview
from harness.session import shard

SUITES = Path(__file__).resolve().parent.parent / "suites"
NMAP = shutil.which("nmap")
pytestmark = [
    pytest.mark.skipif(NMAP is None, reason="needs nmap"),
    pytest.mark.skipif(sshd_available() is not None, reason=str(sshd_available())),
]
RANGE = "32768-60999"  # Linux's ephemeral ports: where bind(0) puts the servers
# two names rendezvous hashing puts in different shards of two (checked below)
NAMES = ("found-a", "declared-e")


def _address() -> str:
    return f"127.0.{random.randint(100, 250)}.{random.randint(2, 250)}"


class _AdminAdmin(BaseHTTPRequestHandler):
    """An admin page behind HTTP Basic that takes a vendor default (admin/admin)."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        ok = (
            self.headers.get("Authorization")
            == "Basic " + base64.b64encode(b"admin:admin").decode()
        )
        self.send_response(200 if ok else 401)
        if not ok:
            self.send_header("WWW-Authenticate", 'Basic realm="admin"')
        self.send_header("Content-Length", "0")
        self.end_headers()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # nmap's version probes are no HTTP: nothing to print


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    d = tmp_path_factory.mktemp("discovery")
    address = _address()
    cert = d / "cert.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "20"),
            *("-subj", "/CN=undeclared.test", "-keyout", str(d / "cert.key"), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    tls_port, tls = s_server(cert, "-tls1", "-cipher", "ALL:@SECLEVEL=0", host=address)
    sshd = Sshd(d / "sshd", {"rsa": 1024, "ed25519": 256}, LEGACY, host=address)
    ftp, ftp_port = ftp_server(d / "ftp", {}, anonymous=True, host=address)
    # a Postfix greeting: nmap names it at once (a bare "ESMTP" makes -sV try probes for 30 s)
    postfix = b"220 mail.test ESMTP Postfix (Debian/GNU)\r\n"
    smtp_port, smtp = smtp_starttls_server(legacy_context(cert, d), address, postfix)
    web = _QuietServer((address, 0), _AdminAdmin)
    Thread(target=web.serve_forever, daemon=True).start()
    # nmap behind a wrapper that logs its arguments, one line per call
    bindir = d / "bin"
    bindir.mkdir()
    log = d / "nmap-calls.log"
    wrapper = bindir / "nmap"
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> {log}\nexec {NMAP} "$@"\n')
    wrapper.chmod(0o755)
    try:
        yield {
            "dir": d,
            "address": address,
            "tls": tls_port,
            "ssh": sshd.port,
            "ftp": ftp_port,
            "web": web.server_address[1],
            "smtp": smtp_port,
            "bindir": bindir,
            "log": log,
        }
    finally:
        tls.kill()
        tls.wait()
        sshd.close()
        ftp.close_all()
        web.shutdown()
        web.server_close()
        smtp.shutdown()
        smtp.server_close()


def _targets(h: dict[str, Any]) -> str:
    a = h["address"]
    return f"""\
version: 1
defaults: {{timeout: 5}}
targets:
  - name: {NAMES[0]}
    host: {a}
    ports: {{scan: "{RANGE}", udp: none}}
    discover: true
    discovered_logins: true
  - name: {NAMES[1]}
    host: {a}
    ports: {{scan: "{RANGE}", udp: none, expected: [{h["tls"]}, {h["ssh"]}, {h["ftp"]}, {h["web"]}, {h["smtp"]}]}}
    discover: true
    tls:
      - port: {h["tls"]}
    ssh:
      - port: {h["ssh"]}
"""


def _run(h: dict[str, Any], name: str, *args: str) -> dict[str, Any]:
    """pytest suites/ in a subprocess; the summary JSON, with the nmap calls it made."""
    d: Path = h["dir"]
    targets = d / "targets.yaml"
    targets.write_text(_targets(h))
    summary = d / f"{name}.json"
    h["log"].write_text("")
    env = os.environ | {"PATH": f"{h['bindir']}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", str(SUITES), "-p", "no:cacheprovider"),
            *("--targets", str(targets), "--summary-json", str(summary), "-q", *args),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=d,
    )
    assert done.returncode in (0, 1), done.stdout[-3000:] + done.stderr[-3000:]
    data: dict[str, Any] = json.loads(summary.read_text())
    data["nmap_calls"] = h["log"].read_text().splitlines()
    data["stdout"] = done.stdout
    return data


def _status(data: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(r["key"], r["check"]): r["status"] for r in data["results"]}


@pytest.fixture(scope="module")
def full(host: dict[str, Any]) -> dict[str, Any]:
    return _run(host, "full", "--alluredir", str(host["dir"] / "allure"))


def test_undeclared_services_are_found_and_fail_the_right_checks(
    host: dict[str, Any], full: dict[str, Any]
) -> None:
    status = _status(full)
    found = NAMES[0]
    tls = f"{found}:tls:{host['tls']} (discovered)"
    ssh = f"{found}:ssh:{host['ssh']} (discovered)"
    ftp = f"{found}:ftp:{host['ftp']} (discovered)"
    assert status[(tls, "tls.protocols")] == "failed"  # TLS 1.0
    assert status[(tls, "tls.cert.trust")] == "failed"  # self-signed
    assert status[(ssh, "ssh.ciphers")] == "failed"  # CBC ciphers of the legacy config
    assert status[(ftp, "login.anonymous")] == "failed"
    web = f"{found}:http-basic:{host['web']} (discovered)"  # answered 401 Basic at /
    assert status[(web, "login.default_credentials")] == "failed"  # admin/admin, a public pair
    smtp = f"{found}:tls:{host['smtp']}/smtp (discovered)"  # offers STARTTLS: asked, then probed
    assert status[(smtp, "tls.protocols")] == "failed"  # TLS 1.0 after STARTTLS
    broken = [k for k, s in status.items() if s == "broken" and "(discovered)" in k[0]]
    assert broken == []
    # the FTP offers no AUTH TLS: listed, not handed to the TLS checks as a STARTTLS endpoint
    assert not any(k.startswith(f"{found}:tls:{host['ftp']}") for k, _ in status)


def test_a_declared_endpoint_on_a_discovered_port_gives_one_set_of_results(
    host: dict[str, Any], full: dict[str, Any]
) -> None:
    declared = NAMES[1]
    keys = {key for key, _ in _status(full) if key.startswith(f"{declared}:")}
    for port, mine in (
        (host["tls"], f"{declared}:{host['tls']}"),
        (host["ssh"], f"{declared}:ssh:{host['ssh']}"),
    ):
        assert {k for k in keys if f":{port}" in k} == {mine}  # no discovered twin
    rows = {r["port"]: r for r in full["coverage"][declared]}
    tls_row = rows[f"{host['tls']}/tcp"]
    assert ["tls", f"{declared}:{host['tls']}", "declared"] in tls_row["subjects"]
    # logins on discovered ports are this target's second opt-in, not given: said, not skipped
    assert "discovered_logins: false" in rows[f"{host['ftp']}/tcp"]["note"]


def test_a_discovered_tls_endpoint_gets_the_findings_it_gets_when_declared(
    host: dict[str, Any], full: dict[str, Any]
) -> None:
    status = _status(full)
    found = f"{NAMES[0]}:tls:{host['tls']} (discovered)"
    declared = f"{NAMES[1]}:{host['tls']}"
    checks = {c for k, c in status if k == declared}
    assert len(checks) > 10
    assert {c: status[(found, c)] for c in checks} == {c: status[(declared, c)] for c in checks}


def test_the_ports_checks_read_the_discovery_scan_without_scanning_again(
    host: dict[str, Any], full: dict[str, Any]
) -> None:
    connect_scans = [c for c in full["nmap_calls"] if RANGE in c]
    assert len(connect_scans) == 2, connect_scans  # one per target, both made by discovery
    status = _status(full)
    assert status[(NAMES[0], "ports.unexpected")] == "failed"  # nothing expected, three open
    assert status[(NAMES[1], "ports.unexpected")] == "passed"


def test_the_summary_lists_each_found_port_and_what_examined_it(
    host: dict[str, Any], full: dict[str, Any]
) -> None:
    out = full["stdout"]
    assert "ports found and the areas that examined each (discovery):" in out
    line = next(
        ln for ln in out.splitlines() if ln.strip().startswith(f"{NAMES[0]} {host['tls']}/tcp")
    )
    assert "tls (discovered)" in line and "ports" in line
    ftp_line = next(
        ln for ln in out.splitlines() if ln.strip().startswith(f"{NAMES[0]} {host['ftp']}/tcp")
    )
    assert "logins (discovered)" in ftp_line


def test_collect_only_contacts_nothing_and_k_selects_discovered_subjects(
    host: dict[str, Any],
) -> None:
    listed = _collect(host)
    assert listed.returncode == 0 and "(discovered)" not in listed.stdout
    assert host["log"].read_text() == ""  # no nmap call: --collect-only contacts no target
    run = _run(host, "only-discovered", "-k", "discovered and tls_protocols")
    keys = {r["key"] for r in run["results"]}
    assert keys == {
        f"{NAMES[0]}:tls:{host['tls']} (discovered)",
        f"{NAMES[0]}:tls:{host['smtp']}/smtp (discovered)",
        f"{NAMES[1]}:tls:{host['smtp']}/smtp (discovered)",
    }


def _collect(h: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    targets = h["dir"] / "targets.yaml"
    targets.write_text(_targets(h))
    h["log"].write_text("")
    env = os.environ | {"PATH": f"{h['bindir']}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        [
            *(sys.executable, "-m", "pytest", str(SUITES), "-p", "no:cacheprovider"),
            *("--targets", str(targets), "--collect-only", "-q"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=h["dir"],
    )


def test_the_report_first_page_lists_each_found_port(
    host: dict[str, Any], full: dict[str, Any]
) -> None:
    results = host["dir"] / "allure"
    manifests = completeness.assess(results).manifests
    page = coverage_report.mark(results, manifests)
    env = allure_files.read_environment(results)  # Allure's Environment widget, first page
    key = f"{coverage_report.ENV_PREFIX}{NAMES[0]}"
    assert key.isascii() and " " not in key  # Allure reads a properties key up to a space
    line = env[key]
    assert f"{host['tls']}/tcp" in line and "tls (discovered)" in line
    assert f"{host['ftp']}/tcp" in line and "logins (discovered)" in line
    split = overview.render("run", [], [], {}, page)  # a split report's own first page
    assert "Ports found and the areas that examined each" in split
    assert f"{NAMES[0]}:tls" not in split and f"{host['ssh']}/tcp" in split


def _discovered(data: dict[str, Any]) -> set[str]:
    return {
        s[1]
        for rows in data["coverage"].values()
        for row in rows
        for s in row["subjects"]
        if s[2] == "discovered"
    }


def test_sharded_and_unsharded_runs_discover_the_same_subjects(host: dict[str, Any]) -> None:
    split = shard.assign(NAMES, 2)
    assert sorted(split.values()) == [1, 2]  # the two targets land in different shards
    only = ("-k", "ports_unexpected")  # discovery is what is compared: one check is enough
    whole = _run(host, "whole", *only)
    parts = [_run(host, f"shard{k}", "--shard", f"{k}/2", *only) for k in (1, 2)]
    assert set(whole["coverage"]) == set(NAMES)
    for k, part in zip((1, 2), parts, strict=True):
        assert set(part["coverage"]) == {n for n, s in split.items() if s == k}
        assert len([c for c in part["nmap_calls"] if RANGE in c]) == 1  # its own target only
    assert _discovered(whole) == _discovered(parts[0]) | _discovered(parts[1])
    # found-a: TLS, SSH, FTP, HTTP Basic, SMTP STARTTLS; declared-e: SMTP STARTTLS only
    assert len(_discovered(whole)) == 6


def test_an_xdist_run_scans_once_and_every_worker_has_the_discovered_subjects(
    host: dict[str, Any], full: dict[str, Any]
) -> None:
    checks = "ports_unexpected or tls_protocols or ssh_ciphers or login_anonymous"
    run = _run(host, "xdist", "-n", "2", "-k", checks)
    assert len([c for c in run["nmap_calls"] if RANGE in c]) == 2  # the controller's, once each
    status = _status(run)
    for key, check in [
        (f"{NAMES[0]}:tls:{host['tls']} (discovered)", "tls.protocols"),
        (f"{NAMES[0]}:ssh:{host['ssh']} (discovered)", "ssh.ciphers"),
        (f"{NAMES[0]}:ftp:{host['ftp']} (discovered)", "login.anonymous"),
    ]:
        assert status[(key, check)] == _status(full)[(key, check)] == "failed"
