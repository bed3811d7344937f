"""Trust as clients judge it, strictness apart: the verifiers on real certificates, then policy.

The certificates are made here with `cryptography` and verified by the real `openssl verify`
(the same OpenSSL as the system's clients); the end-to-end view against real servers is in
test_tls_suite.py (no-aki, unknown-ca).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from checking import decide
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from test_tls_policy import SETTINGS, deployment, scan, texts
from tls_servers import make_pki

from harness.errors import CouldNotMeasure
from harness.policy.grade import grade
from harness.policy.tls.profile import grade_inputs
from harness.probes.tls.model import TlsScan, TrustCheck
from harness.probes.tls.trust import openssl_verify, strict_defects


def _chain(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


def test_a_leaf_without_aki_is_trusted_by_default_and_rejected_by_strict(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    leaf = _chain(pki.leaf("noaki", ["noaki.test"], aki=False))
    client = openssl_verify(leaf, pki.bundle, strict=False)
    assert client.ok, client.error
    strict = openssl_verify(leaf, pki.bundle, strict=True)
    assert not strict.ok and "Authority Key Identifier" in (strict.error or "")
    assert strict_defects(leaf) == ("the leaf has no Authority Key Identifier (RFC 5280 4.2.1.1)",)


def test_a_clean_leaf_passes_both_and_an_unknown_ca_neither(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    clean = _chain(pki.leaf("clean", ["clean.test"]))
    assert openssl_verify(clean, pki.bundle, strict=False).ok
    assert openssl_verify(clean, pki.bundle, strict=True).ok
    assert strict_defects(clean) == ()
    assert not openssl_verify(clean, None, strict=False).ok  # the CA is only in the bundle
    stranger_dir = tmp_path / "stranger"
    stranger_dir.mkdir()
    stranger = _chain(make_pki(stranger_dir).leaf("x", ["x.test"]))
    unknown = openssl_verify(stranger, pki.bundle, strict=False)
    assert not unknown.ok and "local issuer" in (unknown.error or "")


def test_dates_are_left_to_the_validity_check(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    expired = _chain(pki.leaf("old", ["old.test"], days=(-90, -2)))
    assert openssl_verify(expired, pki.bundle, strict=False).ok


def test_a_leaf_without_san_is_named(tmp_path: Path) -> None:
    """make_leaf always writes a SAN, so this leaf is built by hand."""
    key = ec.generate_private_key(ec.SECP256R1())
    pki = make_pki(tmp_path)
    ca, ca_key = pki.ec_ca
    now = dt.datetime.now(dt.UTC)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "nosan")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    assert strict_defects([leaf]) == ("the leaf has no subjectAltName (CA/B Forum BR 7.1.2.7.12)",)


def _strict_only() -> TlsScan:
    rejected = TrustCheck(
        "pyca/cryptography (sslyze)",
        False,
        "invalid extension: 2.5.29.35: Certificate is missing required extension",
    )
    d = dataclasses.replace(
        deployment(),
        trusted_by="OpenSSL default verification",
        strict=(rejected, TrustCheck("OpenSSL with X509_STRICT", False, "Missing AKI")),
        strict_defects=("the leaf has no Authority Key Identifier (RFC 5280 4.2.1.1)",),
    )
    return scan(certificates=(d,))


def test_a_strict_only_defect_fails_strict_alone() -> None:
    measured = _strict_only()
    assert decide("tls.cert.trust", measured, SETTINGS).ok
    verdict = decide("tls.cert.strict", measured, SETTINGS)
    message = texts(verdict) + " ".join(verdict.notes)
    assert "the leaf has no Authority Key Identifier" in message
    assert "missing required extension" in message
    for who in ("pyca/cryptography", "Python 3.13", "browsers", "OpenSSL's default", "curl"):
        assert who in message
    assert decide("tls.profile", measured, SETTINGS).ok
    assert grade(grade_inputs(measured)).letter == "A+"


def test_strict_is_not_judged_on_an_untrusted_chain() -> None:
    untrusted = scan(certificates=(deployment(trusted=False),))
    assert not decide("tls.cert.trust", untrusted, SETTINGS).ok
    skipped = decide("tls.cert.strict", untrusted, SETTINGS)
    assert skipped.not_applicable and "tls.cert.trust reports it" in skipped.not_applicable


def test_a_root_missing_from_sslyzes_store_is_no_strict_defect() -> None:
    """pyca judges with sslyze's bundled store; a root only the system store has is no defect."""
    store_gap = TrustCheck("pyca/cryptography (sslyze)", False, "no path to a trusted root (...)")
    d = dataclasses.replace(deployment(), strict=(store_gap,))
    assert decide("tls.cert.strict", scan(certificates=(d,)), SETTINGS).ok


def test_strict_is_in_the_catalogue_and_sarif(tmp_path: Path) -> None:
    from harness.checks import catalogue
    from harness.output.sarif import convert

    check = catalogue()["tls.cert.strict"]
    assert check.severity.value == "medium" and check.area == "tls"
    rules = {r["id"]: r for r in convert(tmp_path)["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["tls.cert.strict"]["properties"]["security-severity"] == "5.5"
    readme = (Path(__file__).parents[1] / "docs" / "how-checks-judge.md").read_text()
    assert "tls.cert.strict" in readme


def test_a_verifier_that_cannot_run_gives_no_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seen at 200 endpoints: one run in three called a trusted chain untrusted. A verifier
    that did not run (missing, hung, not started) is no distrust: the checks are broken."""
    pki = make_pki(tmp_path)
    clean = _chain(pki.leaf("clean", ["clean.test"]))
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "openssl").write_text("#!/bin/sh\necho 'openssl: cannot allocate memory' >&2\nexit 1\n")
    (fake / "openssl").chmod(0o755)
    monkeypatch.setenv("PATH", str(fake))
    crashed = openssl_verify(clean, pki.bundle, strict=False)
    assert not crashed.measured and "cannot allocate memory" in (crashed.error or "")
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    missing = openssl_verify(clean, pki.bundle, strict=True)
    assert not missing.measured and "not installed" in (missing.error or "")

    d = dataclasses.replace(
        deployment(trusted=False), trust_unmeasured=crashed.error, trust_error=crashed.error
    )
    unmeasured = scan(certificates=(d,))
    for check in ("tls.cert.trust", "tls.profile"):
        with pytest.raises(CouldNotMeasure, match=r"gave no verdict.*cannot allocate memory"):
            decide(check, unmeasured, SETTINGS)
    with pytest.raises(CouldNotMeasure, match="gave no verdict"):
        grade_inputs(unmeasured)
    strict_silent = dataclasses.replace(deployment(), strict=(missing,))
    with pytest.raises(CouldNotMeasure, match=r"X509_STRICT.*gave no verdict.*not installed"):
        decide("tls.cert.strict", scan(certificates=(strict_silent,)), SETTINGS)
