"""The planned TLS scan judges every endpoint exactly as sslyze's full scan does.

The TLS probe settles each protocol version with one handshake and runs sslyze's per-suite scan
only for versions that handshake did not cleanly refuse (harness/probes/tls/versions.py). Here
both run on the same real servers, one after the other: the old full scan (sslyze's Scanner with
every scan command the probe asks for, as the probe did before) and the probe itself. Every TLS
check of the suite then judges both measurements, and status, findings and notes must match.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from checking import decide
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from probe_context import RecordingContext
from sslyze.scanner.scanner import Scanner
from tls_servers import (
    HOST,
    https_server,
    legacy_context,
    make_pki,
    smtp_starttls_server,
    strong_context,
)

from harness.areas import define_checks
from harness.checks import catalogue
from harness.errors import CouldNotMeasure, ProbeFailure
from harness.inventory import Settings, loads
from harness.probes.tls import TlsProbe
from harness.probes.tls.model import TlsScan
from harness.probes.tls.reading import measurement
from harness.probes.tls.request import ca_file, scan_request
from harness.session.subjects import subjects

# every TLS check, read from the registry so a new check is compared too
define_checks("tls")
CHECKS = [c.id for c in catalogue().values() if c.area == "tls"]
# nginx as in bench/fleet.py: the hardened and the legacy server blocks
NGINX_HARDENED = """
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ECDHE+AESGCM:ECDHE+CHACHA20;
    ssl_ecdh_curve X25519:prime256v1:secp384r1;
    add_header Strict-Transport-Security "max-age=63072000" always;"""
NGINX_LEGACY = """
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2;
    ssl_ciphers ALL:@SECLEVEL=0;"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _wait_tcp(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(100):
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}")
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def _nginx(d: Path, cert: Path) -> tuple[subprocess.Popen[bytes], dict[str, int]]:
    ports = {"nginx-hardened": _free_port(), "nginx-legacy": _free_port()}
    blocks = "".join(
        f"""
  server {{
    listen {HOST}:{port} ssl;
    ssl_certificate {cert};
    ssl_certificate_key {cert.with_suffix(".key")};{conf}
    location / {{ return 200 "ok\\n"; }}
  }}"""
        for port, conf in (
            (ports["nginx-hardened"], NGINX_HARDENED),
            (ports["nginx-legacy"], NGINX_LEGACY),
        )
    )
    (d / "nginx").mkdir()
    conf = d / "nginx" / "nginx.conf"
    conf.write_text(
        f"""worker_processes 1;
pid {d}/nginx/nginx.pid;
error_log {d}/nginx/error.log;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {d}/nginx; proxy_temp_path {d}/nginx; fastcgi_temp_path {d}/nginx;
  uwsgi_temp_path {d}/nginx; scgi_temp_path {d}/nginx;{blocks}
}}
"""
    )
    proc = subprocess.Popen(
        ["nginx", "-p", str(d / "nginx"), "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for port in ports.values():
        _wait_tcp(port, proc)
    return proc, ports


def _s_server(cert: Path, *flags: str) -> tuple[subprocess.Popen[bytes], int]:
    """`openssl s_server` (OpenSSL 3) answering HTTP with its status page."""
    port = _free_port()
    proc = subprocess.Popen(
        [
            *("openssl", "s_server", "-quiet", "-www", "-accept", f"{HOST}:{port}"),
            *("-cert", str(cert), "-key", str(cert.with_suffix(".key")), *flags),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_tcp(port, proc)
    return proc, port


@pytest.fixture(scope="module")
def scans(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, tuple[Settings, Any, Any, RecordingContext]]]:
    """endpoint -> (settings, full-scan result, planned result, the probe's recording)."""
    d = tmp_path_factory.mktemp("plan")
    pki = make_pki(d)
    strong = pki.leaf("strong", ["strong.test"])
    rsa_leaf = pki.leaf(
        "legacy",
        ["legacy.test"],
        key=rsa.generate_private_key(public_exponent=65537, key_size=1024),
        issuer="rsa",
        digest=hashes.SHA1(),
    )
    servers = {
        "modern": https_server(strong_context(strong, tls13_only=True)),
        "intermediate": https_server(strong_context(strong)),
        "legacy-null": https_server(legacy_context(rsa_leaf, d), hsts=None),
        "smtp": smtp_starttls_server(strong_context(strong)),
    }
    ports = {name: port for name, (port, _) in servers.items()}
    procs = []
    if shutil.which("nginx"):
        nginx, nginx_ports = _nginx(d, strong)
        procs.append(nginx)
        ports |= nginx_ports
    # TLS 1.0 to 1.3 with NULL and anonymous suites; and a TLS 1.1-only server
    old, ports["openssl-old"] = _s_server(
        rsa_leaf, "-cipher", "ALL:eNULL:@SECLEVEL=0", "-min_protocol", "TLSv1"
    )
    only11, ports["openssl-tls11"] = _s_server(rsa_leaf, "-cipher", "ALL:@SECLEVEL=0", "-tls1_1")
    procs += [old, only11]
    try:
        lines = ["version: 1", f"defaults: {{ca_bundle: {pki.bundle}, timeout: 5}}", "targets:"]
        for name, port in ports.items():
            extra = ", starttls: smtp" if name == "smtp" else ""
            lines.append(
                f"  - {{name: {name}, host: {HOST}, tls: [{{port: {port}, "
                f"server_name: strong.test{extra}}}]}}"
            )
        inv = loads("\n".join(lines) + "\n")
        jobs = subjects(inv, "tls")
        # the old plan: sslyze's Scanner, every scan command on every version
        requests = {}
        for job in jobs:
            request = scan_request(job, Path.cwd())
            assert not isinstance(request, ProbeFailure), request
            requests[request.uuid] = (job, request)
        scanner = Scanner(per_server_concurrent_connections_limit=5)
        scanner.queue_scans([r for _, r in requests.values()])
        full = {}
        for result in scanner.get_results():
            job = requests[result.uuid][0]
            full[job.key] = measurement(job, result, ca_file(requests[result.uuid][1]))
        # the new plan: the probe
        ctx = RecordingContext(inv)
        TlsProbe().run(jobs, ctx)
        yield {
            job.target.name: (job.settings, full[job.key], ctx.results[job.key], ctx)
            for job in jobs
        }
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()
        for _, server in servers.values():
            server.shutdown()


def _judge(check: str, scan: Any, settings: Settings) -> tuple[Any, ...]:
    """What a check decides: ('broken', reason) or (skip reason, findings, notes, title)."""
    if isinstance(scan, ProbeFailure):
        return ("broken", scan.kind)
    try:
        verdict = decide(check, scan, settings)
    except CouldNotMeasure as exc:
        return ("broken", exc.failure.message)
    findings = tuple((f.text, f.severity) for f in verdict.findings)
    return (verdict.not_applicable, findings, verdict.notes, verdict.title, verdict.labels)


ENDPOINTS = [
    "modern",
    "intermediate",
    "legacy-null",
    "smtp",
    "nginx-hardened",
    "nginx-legacy",
    "openssl-old",
    "openssl-tls11",
]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_every_check_decides_the_same(
    scans: dict[str, tuple[Settings, Any, Any, RecordingContext]], endpoint: str
) -> None:
    if endpoint not in scans:
        pytest.skip(f"{endpoint}: nginx is not installed")
    settings, full, planned = scans[endpoint][:3]
    assert isinstance(full, TlsScan), full
    assert isinstance(planned, TlsScan), planned
    assert len(CHECKS) >= 19, CHECKS  # the registry lists the checks
    for check in CHECKS:
        assert _judge(check, planned, settings) == _judge(check, full, settings), check
    # the measurement itself: versions, suites and key exchange, and every scan error
    assert [(p.name, p.offered, p.suites) for p in planned.protocols] == [
        (p.name, p.offered, p.suites) for p in full.protocols
    ]
    assert planned.curves == full.curves
    assert planned.errors == full.errors


def test_refused_versions_carry_the_evidence_of_their_handshake(
    scans: dict[str, tuple[Settings, Any, Any, RecordingContext]],
) -> None:
    modern = scans["modern"][2]
    refused = {p.name: p.evidence for p in modern.protocols if not p.offered}
    assert set(refused) == {"SSLv2", "SSLv3", "TLS 1.0", "TLS 1.1", "TLS 1.2"}
    assert "TLS 1.2" in refused and "refused: TLS alert: protocol version" in refused["TLS 1.2"]
    # a version the server speaks was scanned suite by suite, so it carries no such evidence
    assert [p.evidence for p in modern.protocols if p.offered] == [""]
    # and the attached scan says which handshakes settled which version
    ctx = scans["modern"][3]
    body = next(b for key, name, b in ctx.evidence if key.startswith("modern:"))
    assert '"harness_version_checks"' in body and '"answer": "refused"' in body


@pytest.mark.parametrize("endpoint", ["legacy-null", "openssl-old"])
def test_accepted_versions_are_enumerated_not_scanned_suite_by_suite(
    scans: dict[str, tuple[Settings, Any, Any, RecordingContext]], endpoint: str
) -> None:
    """Guards that the comparison above covers the enumeration, not only the fallback."""
    ctx = scans[endpoint][3]
    body = json.loads(next(b for key, _, b in ctx.evidence if key.startswith(f"{endpoint}:")))
    checks = {c["protocol"]: c for c in body["harness_version_checks"]}
    for protocol, command in (
        ("TLS 1.0", "tls_1_0_cipher_suites"),
        ("TLS 1.2", "tls_1_2_cipher_suites"),
    ):
        assert checks[protocol]["answer"] == "accepted"
        assert len(checks[protocol]["accepted_suites_enumerated"]) > 10
        assert body["scan_result"][command]["status"] == "NOT_SCHEDULED"
    if endpoint == "openssl-old":  # groups are enumerated where TLS 1.3 is spoken
        assert body["harness_groups_enumerated"], "the EC groups were scanned one by one"
        assert body["scan_result"]["elliptic_curves"]["status"] == "NOT_SCHEDULED"
