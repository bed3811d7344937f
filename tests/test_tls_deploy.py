"""Certificate deployment checks against real servers: chains served out of order, with an
unrelated certificate or with the root (Python ssl), and a must-staple certificate served by
`openssl s_server` with and without a stapled OCSP response (built here with cryptography).

SCTs and CA/Browser Forum lifetimes apply to publicly trusted certificates only, which no local
server can have: those failures are judged on hand-built measurements below, and the real
servers (a private CA) show that they are left alone there.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from allure_results import by_target_and_check
from checking import decide
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID
from test_tls_policy import SETTINGS, cert, deployment, scan
from tls_servers import HOST, Pki, https_server, make_pki, s_server

from harness.policy.tls.deploy import limit_on

SUITE = Path(__file__).parents[1] / "suites" / "test_tls.py"
CHECKS = ("tls.cert.chain", "tls.cert.ocsp_stapling", "tls.cert.sct", "tls.cert.lifetime")


def _pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def _served(pki: Pki, name: str, *extra: x509.Certificate) -> ssl.SSLContext:
    """A strong server whose chain file holds the leaf, then `extra` in that order."""
    leaf = pki.leaf(name, [f"{name}.test"])
    chain = pki.directory / f"{name}-chain.pem"
    chain.write_bytes(leaf.read_bytes() + _pem(*extra))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(chain, leaf.with_suffix(".key"))
    return ctx


def _must_staple(pki: Pki, d: Path) -> tuple[Path, Path]:
    """A must-staple leaf from the EC CA, and a good OCSP response for it."""
    ca, ca_key = pki.ec_ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "staple.test")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=60))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("staple.test")]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        .add_extension(x509.TLSFeature([x509.TLSFeatureType.status_request]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = d / "staple.pem"
    pem.write_bytes(_pem(leaf))
    (d / "staple.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    response = (
        ocsp.OCSPResponseBuilder()
        .add_response(
            cert=leaf,
            issuer=ca,
            algorithm=hashes.SHA1(),
            cert_status=ocsp.OCSPCertStatus.GOOD,
            this_update=now - dt.timedelta(hours=1),
            next_update=now + dt.timedelta(days=3),
            revocation_time=None,
            revocation_reason=None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, ca)
        # the signer rides along: sslyze 6.3.1's certificate_info crashes on a response whose
        # signer it cannot find (OCSP_basic_verify "signer certificate not found")
        .certificates([ca])
        .sign(ca_key, hashes.SHA256())
    )
    der = d / "staple.ocsp"
    der.write_bytes(response.public_bytes(serialization.Encoding.DER))
    return pem, der


def _s_server(cert: Path, d: Path, *extra: str) -> tuple[int, subprocess.Popen[bytes]]:
    return s_server(cert, *extra, cwd=d)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[tuple[str, str], Any]]:
    d = tmp_path_factory.mktemp("deploy")
    pki = make_pki(d)
    ec_ca, rsa_ca = pki.ec_ca[0], pki.rsa_ca[0]
    python = {
        "leaf-only": https_server(_served(pki, "leaf-only")),
        "with-root": https_server(_served(pki, "with-root", ec_ca)),
        "unrelated": https_server(_served(pki, "unrelated", rsa_ca)),
        "disorder": https_server(_served(pki, "disorder", rsa_ca, ec_ca)),
    }
    staple, response = _must_staple(pki, d)
    openssl = {
        "stapled": _s_server(staple, d, "-status_file", str(response)),
        "not-stapled": _s_server(staple, d),
    }
    ports = {n: p for n, (p, _) in python.items()} | {n: p for n, (p, _) in openssl.items()}
    lines = ["version: 1", f"defaults: {{ca_bundle: {pki.bundle}, timeout: 5}}", "targets:"]
    for name, port in ports.items():
        sni = "staple.test" if name in openssl else f"{name}.test"
        lines += [
            f"  - name: {name}",
            f"    host: {HOST}",
            f"    tls: [{{port: {port}, server_name: {sni}}}]",
        ]
    (d / "targets.yaml").write_text("\n".join(lines) + "\n")
    shutil.copy(SUITE, d / "test_tls.py")
    selected = " or ".join(c.replace(".", "_") for c in CHECKS)
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "test_tls.py", "--targets", "targets.yaml"),
            *("-p", "no:cacheprovider", "--alluredir", "allure", "-q", "-rN", "-k", selected),
        ],
        cwd=d,
        capture_output=True,
        text=True,
        timeout=300,
    )
    for _, server in python.values():
        server.shutdown()
    for _, p in openssl.values():
        p.kill()
        p.wait()
    results = by_target_and_check(d / "allure")
    results[("", "stdout")] = proc.stdout + proc.stderr
    yield results


def _status(run: dict[tuple[str, str], Any], target: str, check: str) -> tuple[str, str]:
    result = run.get((target, check))
    assert result is not None, f"no result for {target} {check}:\n{run[('', 'stdout')][-3000:]}"
    return result["status"], result.get("statusDetails", {}).get("message", "")


@pytest.mark.parametrize(
    ("target", "status", "says"),
    [
        ("leaf-only", "passed", ""),
        ("with-root", "failed", "includes its root certificate"),
        ("unrelated", "failed", "not on its path: CN=harness test RSA CA"),
        ("disorder", "failed", "out of order"),
    ],
)
def test_the_served_chain_is_judged(
    run: dict[tuple[str, str], Any], target: str, status: str, says: str
) -> None:
    got, message = _status(run, target, "tls.cert.chain")
    assert got == status, message
    assert says in message


def test_must_staple_without_a_staple_fails_and_with_one_passes(
    run: dict[tuple[str, str], Any],
) -> None:
    got, message = _status(run, "not-stapled", "tls.cert.ocsp_stapling")
    assert got == "failed" and "must-staple" in message, message
    got, message = _status(run, "stapled", "tls.cert.ocsp_stapling")
    assert got == "passed", message


@pytest.mark.parametrize("check", ["tls.cert.sct", "tls.cert.lifetime"])
def test_a_private_ca_is_not_held_to_public_rules(
    run: dict[tuple[str, str], Any], check: str
) -> None:
    for target in ("leaf-only", "stapled"):
        got, message = _status(run, target, check)
        assert got == "passed", message


# ------------------------------------------------------------------ public certificates


def _public(days: int, issued: dt.datetime, scts: int | None) -> object:
    leaf = cert(not_before=issued, not_after=issued + dt.timedelta(days=days, seconds=-1))
    d = dataclasses.replace(deployment(leaf), publicly_trusted=True, sct_count=scts)
    return scan(certificates=(d,), scanned_at=issued + dt.timedelta(days=1))


def test_a_public_certificate_without_scts_fails() -> None:
    issued = dt.datetime(2026, 1, 10, tzinfo=dt.UTC)
    assert not decide("tls.cert.sct", _public(90, issued, 0), SETTINGS).ok
    assert not decide(
        "tls.cert.sct", _public(390, issued, 2), SETTINGS
    ).ok  # 3 needed past 180 days
    assert decide("tls.cert.sct", _public(90, issued, 2), SETTINGS).ok


@pytest.mark.parametrize(
    ("issued", "days", "ok"),
    [
        (dt.datetime(2019, 6, 1, tzinfo=dt.UTC), 825, True),
        (dt.datetime(2021, 6, 1, tzinfo=dt.UTC), 398, True),
        (dt.datetime(2021, 6, 1, tzinfo=dt.UTC), 399, False),
        (dt.datetime(2026, 3, 20, tzinfo=dt.UTC), 200, True),
        (dt.datetime(2026, 3, 20, tzinfo=dt.UTC), 398, False),
    ],
)
def test_a_public_certificate_is_held_to_the_limit_of_its_issue_date(
    issued: dt.datetime, days: int, ok: bool
) -> None:
    assert decide("tls.cert.lifetime", _public(days, issued, 3), SETTINGS).ok is ok
    assert limit_on(dt.date(2011, 1, 1)) is None


def test_unmeasured_stapling_is_broken_never_passed() -> None:
    from harness.errors import CouldNotMeasure

    unknown = scan(certificates=(dataclasses.replace(deployment(), ocsp_stapled=None),))
    with pytest.raises(CouldNotMeasure):
        decide("tls.cert.ocsp_stapling", unknown, SETTINGS)
