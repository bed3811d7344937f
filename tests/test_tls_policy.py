"""TLS policy on hand-built measurements: the defects no local OpenSSL 3 server can show.

Heartbleed, CCS injection, ROBOT, insecure or client-initiated renegotiation, compression and a
missing fallback SCSV need a vulnerable TLS stack; these tests feed the policy the measurement
such a stack would produce. Everything else is also exercised against real servers in
test_tls_suite.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from harness.errors import CouldNotMeasure
from harness.inventory import Settings
from harness.outcome import Verdict
from harness.policy import tls as policy
from harness.policy.tls.profile import grade_inputs
from harness.policy.tls.rules import WEAKNESS_TEXT, Weakness, forward_secret, profiles, weaknesses
from harness.probes.tls.model import (
    CertDeployment,
    Certificate,
    Hsts,
    ProtocolSupport,
    Robot,
    Suite,
    TlsScan,
)

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
SETTINGS = Settings()
P256 = ("secp256r1", 256)


def cert(**kw: object) -> Certificate:
    base = Certificate(
        subject="CN=www.example.test",
        issuer="CN=Example CA",
        self_signed=False,
        not_before=NOW - dt.timedelta(days=10),
        not_after=NOW + dt.timedelta(days=80),
        key_type="EC",
        key_bits=256,
        curve="secp256r1",
        signature_algorithm="ecdsa-with-SHA256",
        signature_hash="sha256",
        dns_names=("www.example.test",),
        common_name="www.example.test",
    )
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def deployment(*chain: Certificate, trusted: bool = True) -> CertDeployment:
    return CertDeployment(
        chain=chain or (cert(),),
        validation=(),
        chain_trusted=trusted,
        must_staple=False,
        ocsp_stapled=False,
        chain_in_order=True,
        sends_root=False,
    )


def suites(*names: str, bits: int = 128, group: tuple[str, int] | None = P256) -> tuple[Suite, ...]:
    g, b = group if group else (None, None)
    return tuple(Suite(n, bits, "anon" in n, g, b) for n in names)


def scan(**kw: object) -> TlsScan:
    base = TlsScan(
        host="203.0.113.5",
        port=443,
        server_name="www.example.test",
        starttls=None,
        https=True,
        scanned_at=NOW,
        protocols=(
            ProtocolSupport("SSLv2", False),
            ProtocolSupport("SSLv3", False),
            ProtocolSupport("TLS 1.0", False),
            ProtocolSupport("TLS 1.1", False),
            ProtocolSupport("TLS 1.2", True, suites("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256")),
            ProtocolSupport("TLS 1.3", True, suites("TLS_AES_128_GCM_SHA256")),
        ),
        curves=("secp256r1", "X25519"),
        certificates=(deployment(),),
        heartbleed=False,
        ccs_injection=False,
        robot=Robot.NOT_VULNERABLE_RSA_NOT_SUPPORTED,
        secure_renegotiation=True,
        client_renegotiation=False,
        compression=False,
        fallback_scsv=True,
        extended_master_secret=True,
        hsts=Hsts(True, 63072000),
        post_quantum="X25519MLKEM768",
    )
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def texts(v: Verdict) -> str:
    return "; ".join(f.text for f in v.findings)


# the named vulnerabilities (tests/test_tls_named.py judges each on a legacy measurement)
NAMED = [
    policy.sweet32,
    policy.freak,
    policy.logjam,
    policy.drown,
    policy.poodle,
    policy.rc4,
    policy.beast,
    policy.lucky13,
]
CHECKS = [
    policy.protocols,
    policy.ciphers,
    policy.forward_secrecy,
    policy.key_exchange,
    policy.cert_validity,
    policy.cert_expiry,
    policy.cert_trust,
    policy.cert_strict,
    policy.cert_hostname,
    policy.cert_key,
    policy.cert_signature,
    policy.heartbleed,
    policy.ccs_injection,
    policy.robot,
    policy.renegotiation,
    policy.compression,
    policy.fallback_scsv,
    *NAMED,
    policy.ocsp_stapling,
    policy.sct,
    policy.chain,
    policy.lifetime,
    policy.post_quantum,
    policy.hsts,
    policy.compliance,
    policy.grade,
]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_the_strong_measurement_passes_every_check(check: object) -> None:
    verdict = check(scan(), SETTINGS)  # type: ignore[operator]
    assert verdict.ok, texts(verdict)


@pytest.mark.parametrize(
    ("check", "change", "expected"),
    [
        (policy.heartbleed, {"heartbleed": True}, "heartbeat"),
        (policy.ccs_injection, {"ccs_injection": True}, "ChangeCipherSpec"),
        (policy.robot, {"robot": Robot.VULNERABLE_STRONG_ORACLE}, "strong Bleichenbacher oracle"),
        (policy.robot, {"robot": Robot.VULNERABLE_WEAK_ORACLE}, "weak Bleichenbacher oracle"),
        (policy.renegotiation, {"secure_renegotiation": False}, "insecure renegotiation"),
        (policy.renegotiation, {"client_renegotiation": True}, "client-initiated"),
        (policy.compression, {"compression": True}, "compression"),
        (policy.fallback_scsv, {"fallback_scsv": False}, "TLS_FALLBACK_SCSV"),
        (policy.hsts, {"hsts": Hsts(False)}, "no Strict-Transport-Security"),
        (policy.hsts, {"hsts": Hsts(True, 3600)}, "under the minimum of 180 days"),
        (policy.compliance, {"compression": True}, "vulnerable: TLS compression"),
        (policy.grade, {"heartbleed": True}, "grade F is below the declared minimum A"),
    ],
)
def test_each_vulnerability_fails_its_check(
    check: object, change: dict[str, object], expected: str
) -> None:
    verdict = check(scan(**change), SETTINGS)  # type: ignore[operator]
    assert expected in texts(verdict)


def test_not_applicable_checks_are_skipped_with_the_reason() -> None:
    tls13 = tuple(
        dataclasses.replace(p, offered=False, suites=()) if p.name != "TLS 1.3" else p
        for p in scan().protocols
    )
    only13 = scan(protocols=tls13, fallback_scsv=False, secure_renegotiation=False)
    assert "no older version" in str(policy.fallback_scsv(only13, SETTINGS).not_applicable)
    assert "no renegotiation" in str(policy.renegotiation(only13, SETTINGS).not_applicable)
    smtp = scan(https=False, starttls="smtp", hsts=None)
    assert "STARTTLS smtp" in str(policy.hsts(smtp, SETTINGS).not_applicable)
    old = Settings(tls_profile="old")
    assert "does not require" in str(policy.forward_secrecy(scan(), old).not_applicable)


@pytest.mark.parametrize(
    "change",
    [
        {"heartbleed": None, "errors": (("heartbleed", "sslyze's heartbleed scan failed (x)"),)},
        {"robot": Robot.UNKNOWN_INCONSISTENT_RESULTS},
        {"certificates": None},
        {"hsts": None},
    ],
)
def test_a_missing_measurement_is_could_not_measure_never_a_pass(change: dict[str, object]) -> None:
    s = scan(**change)
    with pytest.raises(CouldNotMeasure):
        for check in CHECKS:
            check(s, SETTINGS)


def test_a_failed_protocol_scan_breaks_the_protocol_checks() -> None:
    s = scan(errors=(("tls_1_0_cipher_suites", "sslyze's tls_1_0_cipher_suites scan failed"),))
    with pytest.raises(CouldNotMeasure, match="tls_1_0_cipher_suites"):
        policy.protocols(s, SETTINGS)


def test_weak_suites_are_named_under_their_protocol() -> None:
    tls10 = ProtocolSupport(
        "TLS 1.0",
        True,
        suites(
            "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
            "TLS_RSA_WITH_RC4_128_MD5",
            "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA",
            "TLS_DH_anon_WITH_AES_128_CBC_SHA",
            group=None,
        ),
    )
    s = scan(protocols=(tls10, *scan().protocols[3:]))
    message = texts(policy.ciphers(s, SETTINGS))
    assert message.startswith("TLS 1.0: TLS_RSA_WITH_3DES_EDE_CBC_SHA (3DES")
    assert (
        "TLS_RSA_WITH_RC4_128_MD5 (RC4 [tls.vuln.rc4], MD5 MAC, static RSA key exchange)" in message
    )
    assert (
        "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA (EXPORT-grade [tls.vuln.freak, tls.vuln.logjam], single DES"
        in message
    )
    assert "TLS_DH_anon_WITH_AES_128_CBC_SHA (anonymous" in message
    assert "TLS 1.2" not in message
    # under "old", CBC and static RSA are allowed, but 3DES and friends never are
    old = texts(policy.ciphers(s, Settings(tls_profile="old")))
    assert "CBC mode" not in old and "3DES" in old
    assert "TLS 1.0: TLS_RSA_WITH_3DES_EDE_CBC_SHA" in texts(policy.forward_secrecy(s, SETTINGS))


def test_suite_classification() -> None:
    assert weaknesses(Suite("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 128)) == []
    assert weaknesses(Suite("TLS_AES_256_GCM_SHA384", 256), ("cbc", "static_rsa")) == []
    rc4_md5 = weaknesses(Suite("SSL_CK_RC4_128_WITH_MD5", 128))
    assert rc4_md5 == [Weakness.RC4, Weakness.MD5]
    assert [w.text for w in rc4_md5] == ["RC4 [tls.vuln.rc4]", "MD5 MAC"]
    assert weaknesses(Suite("TLS_RSA_WITH_NULL_SHA256", 0))[0].text == "NULL encryption"
    cbc = Suite("TLS_RSA_WITH_AES_128_CBC_SHA", 128)
    assert weaknesses(cbc) == []  # CBC and static RSA are weak only where a profile says so
    assert weaknesses(cbc, ("cbc", "static_rsa")) == [Weakness.CBC, Weakness.STATIC_RSA]
    assert forward_secret(Suite("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 128))
    assert forward_secret(Suite("TLS_AES_128_GCM_SHA256", 128))
    assert not forward_secret(Suite("TLS_RSA_WITH_AES_128_GCM_SHA256", 128))
    assert not forward_secret(Suite("TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256", 128))


def test_key_exchange_groups() -> None:
    assert "secp224r1 of 224 bits" in texts(
        policy.key_exchange(scan(curves=("secp224r1",)), SETTINGS)
    )
    assert "outside the intermediate profile: X448" in texts(
        policy.key_exchange(scan(curves=("X25519", "X448")), SETTINGS)
    )
    dh = ProtocolSupport(
        "TLS 1.2", True, suites("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", group=("DH", 1024))
    )
    s = scan(protocols=(*scan().protocols[:4], dh, scan().protocols[5]))
    assert "DH group of 1024 bits" in texts(policy.key_exchange(s, SETTINGS))


def test_modern_profile_wants_tls13_only() -> None:
    modern = Settings(tls_profile="modern")
    assert texts(policy.protocols(scan(), modern)) == "TLS 1.2 is offered"
    nothing_new = tuple(
        dataclasses.replace(p, offered=p.name == "TLS 1.0") for p in scan().protocols
    )
    assert "TLS 1.2 or TLS 1.3 is not offered" in texts(
        policy.protocols(scan(protocols=nothing_new), SETTINGS)
    )


def test_certificate_checks() -> None:
    def on(*chain: Certificate, trusted: bool = True) -> TlsScan:
        return scan(certificates=(deployment(*chain, trusted=trusted),))

    expired = on(cert(not_after=NOW - dt.timedelta(days=3)))
    assert "expired on 2026-05-29 (3 days ago)" in texts(policy.cert_validity(expired, SETTINGS))
    # expiry does not contradict validity's critical finding with "expires soon"
    beside = policy.cert_expiry(expired, SETTINGS)
    assert not beside.findings and "tls.cert.validity reports it" in str(beside.not_applicable)
    future = on(cert(not_before=NOW + dt.timedelta(days=1)))
    assert "is not valid before 2026-06-02" in texts(policy.cert_validity(future, SETTINGS))
    soon = on(cert(not_after=NOW + dt.timedelta(days=12, hours=1)))
    assert "in 12 days (the minimum is 30 days)" in texts(policy.cert_expiry(soon, SETTINGS))
    assert (
        policy.cert_expiry(scan(), SETTINGS).notes[0].startswith("www.example.test: 80 days left")
    )
    rsa = on(cert(key_type="RSA", key_bits=1024, curve=None))
    assert "RSA key of 1024 bits" in texts(policy.cert_key(rsa, SETTINGS))
    small_ec = on(cert(key_bits=224, curve="secp224r1"))
    assert "EC key of 224 bits" in texts(policy.cert_key(small_ec, SETTINGS))
    self_signed = on(cert(self_signed=True, issuer="CN=www.example.test"), trusted=False)
    assert "self-signed" in texts(policy.cert_trust(self_signed, SETTINGS))


def test_signatures_judge_the_served_chain_without_roots() -> None:
    md5_intermediate = cert(
        subject="CN=Sub CA",
        common_name="Sub CA",
        signature_hash="md5",
        signature_algorithm="md5WithRSAEncryption",
    )
    sha1_root = cert(subject="CN=Root", common_name="Root", self_signed=True, signature_hash="sha1")
    s = scan(certificates=(deployment(cert(), md5_intermediate, sha1_root),))
    message = texts(policy.cert_signature(s, SETTINGS))
    assert "Sub CA is signed with MD5" in message and "Root" not in message
    assert "MD5 certificate signature" in policy.grade(s, SETTINGS).notes[0]


@pytest.mark.parametrize(
    ("name", "sans", "ok"),
    [
        ("www.example.test", ("www.example.test",), True),
        ("WWW.Example.test.", ("www.example.test",), True),
        ("a.example.test", ("*.example.test",), True),
        ("a.b.example.test", ("*.example.test",), False),
        ("example.test", ("*.example.test",), False),
        ("other.test", ("www.example.test",), False),
    ],
)
def test_hostname_matching(name: str, sans: tuple[str, ...], ok: bool) -> None:
    s = scan(server_name=name, certificates=(deployment(cert(dns_names=sans)),))
    assert policy.cert_hostname(s, SETTINGS).ok is ok


def test_hostname_by_ip_address() -> None:
    s = scan(server_name="192.0.2.7", certificates=(deployment(cert(ip_addresses=("192.0.2.7",))),))
    assert policy.cert_hostname(s, SETTINGS).ok
    s = scan(server_name="192.0.2.8", certificates=(deployment(cert(ip_addresses=("192.0.2.7",))),))
    assert "not 192.0.2.8" in texts(policy.cert_hostname(s, SETTINGS))


def test_grade_verdict_carries_title_label_and_breakdown() -> None:
    v = policy.grade(scan(), SETTINGS)
    assert (
        v.ok
        and v.labels == {"tls_grade": "A+"}
        and v.title == "TLS grade A+ · www.example.test:443"
    )
    assert "score 89/100" in v.notes[0]  # 128-bit suites only: cipher strength 80
    below = policy.grade(scan(hsts=None, https=False), Settings(min_grade="A+"))
    assert "grade A is below the declared minimum A+" in texts(below)


def test_the_grade_reads_weakness_keys_not_their_display_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    weak = (
        ProtocolSupport(
            "TLS 1.2", True, suites("TLS_RSA_WITH_NULL_SHA256", "TLS_RSA_WITH_RC4_128_SHA")
        ),
    )
    before = grade_inputs(scan(protocols=weak))
    assert before.null and before.rc4 and before.rc4_or_3des_on_tls11_plus
    for w in Weakness:
        monkeypatch.setitem(WEAKNESS_TEXT, w, f"reworded {w.value}")
    assert grade_inputs(scan(protocols=weak)) == before
    assert "reworded null" in texts(policy.ciphers(scan(protocols=weak), SETTINGS))


def test_profile_data_has_version_and_source() -> None:
    data = profiles()
    assert data.version == "5.7" and data.source.startswith("https://ssl-config.mozilla.org/")
    assert set(data.profiles) == {"modern", "intermediate", "old"}
