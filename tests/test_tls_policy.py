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
from checking import decide

from harness.areas import define_checks
from harness.checks import DEFINITIONS, catalogue
from harness.errors import CouldNotMeasure
from harness.inventory import Settings
from harness.outcome import Verdict
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


# the checks, read from the registry: every TLS check, and the named vulnerabilities judged from
# the enumeration (tests/test_tls_named.py judges each on a legacy measurement)
define_checks("tls")
CHECKS = [c.id for c in catalogue().values() if c.area == "tls"]
NAMED = [
    cid
    for cid in CHECKS
    if cid.startswith("tls.vuln.")
    and DEFINITIONS[cid].decide.__module__ == "harness.policy.tls.named"
]


@pytest.mark.parametrize("check", CHECKS)
def test_the_strong_measurement_passes_every_check(check: str) -> None:
    verdict = decide(check, scan(), SETTINGS)
    assert verdict.ok, texts(verdict)


@pytest.mark.parametrize(
    ("check", "change", "expected"),
    [
        ("tls.vuln.heartbleed", {"heartbleed": True}, "heartbeat"),
        ("tls.vuln.ccs_injection", {"ccs_injection": True}, "ChangeCipherSpec"),
        (
            "tls.vuln.robot",
            {"robot": Robot.VULNERABLE_STRONG_ORACLE},
            "strong Bleichenbacher oracle",
        ),
        ("tls.vuln.robot", {"robot": Robot.VULNERABLE_WEAK_ORACLE}, "weak Bleichenbacher oracle"),
        ("tls.vuln.renegotiation", {"secure_renegotiation": False}, "insecure renegotiation"),
        ("tls.vuln.renegotiation", {"client_renegotiation": True}, "client-initiated"),
        ("tls.vuln.compression", {"compression": True}, "compression"),
        ("tls.vuln.fallback_scsv", {"fallback_scsv": False}, "TLS_FALLBACK_SCSV"),
        ("tls.hsts", {"hsts": Hsts(False)}, "no Strict-Transport-Security"),
        ("tls.hsts", {"hsts": Hsts(True, 3600)}, "under the minimum of 180 days"),
        ("tls.profile", {"compression": True}, "vulnerable: TLS compression"),
        ("tls.grade", {"heartbleed": True}, "grade F is below the declared minimum A"),
    ],
)
def test_each_vulnerability_fails_its_check(
    check: str, change: dict[str, object], expected: str
) -> None:
    verdict = decide(check, scan(**change), SETTINGS)
    assert expected in texts(verdict)


def test_not_applicable_checks_are_skipped_with_the_reason() -> None:
    tls13 = tuple(
        dataclasses.replace(p, offered=False, suites=()) if p.name != "TLS 1.3" else p
        for p in scan().protocols
    )
    only13 = scan(protocols=tls13, fallback_scsv=False, secure_renegotiation=False)
    assert "no older version" in str(
        decide("tls.vuln.fallback_scsv", only13, SETTINGS).not_applicable
    )
    assert "no renegotiation" in str(
        decide("tls.vuln.renegotiation", only13, SETTINGS).not_applicable
    )
    smtp = scan(https=False, starttls="smtp", hsts=None)
    assert "STARTTLS smtp" in str(decide("tls.hsts", smtp, SETTINGS).not_applicable)
    old = Settings(tls_profile="old")
    assert "does not require" in str(decide("tls.forward_secrecy", scan(), old).not_applicable)


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
            decide(check, s, SETTINGS)


def test_a_server_without_tls13_fails_the_tls13_check() -> None:
    no13 = tuple(
        dataclasses.replace(p, offered=False, suites=()) if p.name == "TLS 1.3" else p
        for p in scan().protocols
    )
    verdict = decide("tls.tls13", scan(protocols=no13), SETTINGS)
    assert texts(verdict) == "TLS 1.3 is not offered (offered: TLS 1.2)"
    assert [f.key for f in verdict.findings] == ["no TLS 1.3"]  # one identity across runs


def test_a_failed_protocol_scan_breaks_the_protocol_checks() -> None:
    s = scan(errors=(("tls_1_0_cipher_suites", "sslyze's tls_1_0_cipher_suites scan failed"),))
    with pytest.raises(CouldNotMeasure, match="tls_1_0_cipher_suites"):
        decide("tls.protocols", s, SETTINGS)


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
    message = texts(decide("tls.ciphers", s, SETTINGS))
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
    old = texts(decide("tls.ciphers", s, Settings(tls_profile="old")))
    assert "CBC mode" not in old and "3DES" in old
    assert "TLS 1.0: TLS_RSA_WITH_3DES_EDE_CBC_SHA" in texts(
        decide("tls.forward_secrecy", s, SETTINGS)
    )


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
        decide("tls.key_exchange", scan(curves=("secp224r1",)), SETTINGS)
    )
    assert "outside the intermediate profile: X448" in texts(
        decide("tls.key_exchange", scan(curves=("X25519", "X448")), SETTINGS)
    )
    dh = ProtocolSupport(
        "TLS 1.2", True, suites("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", group=("DH", 1024))
    )
    s = scan(protocols=(*scan().protocols[:4], dh, scan().protocols[5]))
    assert "DH group of 1024 bits" in texts(decide("tls.key_exchange", s, SETTINGS))


def test_modern_profile_wants_tls13_only() -> None:
    modern = Settings(tls_profile="modern")
    assert texts(decide("tls.protocols", scan(), modern)) == "TLS 1.2 is offered"
    nothing_new = tuple(
        dataclasses.replace(p, offered=p.name == "TLS 1.0") for p in scan().protocols
    )
    assert "TLS 1.2 or TLS 1.3 is not offered" in texts(
        decide("tls.protocols", scan(protocols=nothing_new), SETTINGS)
    )


def test_certificate_checks() -> None:
    def on(*chain: Certificate, trusted: bool = True) -> TlsScan:
        return scan(certificates=(deployment(*chain, trusted=trusted),))

    expired = on(cert(not_after=NOW - dt.timedelta(days=3)))
    assert "expired on 2026-05-29 (3 days ago)" in texts(
        decide("tls.cert.validity", expired, SETTINGS)
    )
    # expiry does not contradict validity's critical finding with "expires soon"
    beside = decide("tls.cert.expiry", expired, SETTINGS)
    assert not beside.findings and "tls.cert.validity reports it" in str(beside.not_applicable)
    future = on(cert(not_before=NOW + dt.timedelta(days=1)))
    assert "is not valid before 2026-06-02" in texts(decide("tls.cert.validity", future, SETTINGS))
    soon = on(cert(not_after=NOW + dt.timedelta(days=12, hours=1)))
    assert "in 12 days (the minimum is 30 days)" in texts(decide("tls.cert.expiry", soon, SETTINGS))
    assert (
        decide("tls.cert.expiry", scan(), SETTINGS)
        .notes[0]
        .startswith("www.example.test: 80 days left")
    )
    rsa = on(cert(key_type="RSA", key_bits=1024, curve=None))
    assert "RSA key of 1024 bits" in texts(decide("tls.cert.key", rsa, SETTINGS))
    small_ec = on(cert(key_bits=224, curve="secp224r1"))
    assert "EC key of 224 bits" in texts(decide("tls.cert.key", small_ec, SETTINGS))
    self_signed = on(cert(self_signed=True, issuer="CN=www.example.test"), trusted=False)
    assert "self-signed" in texts(decide("tls.cert.trust", self_signed, SETTINGS))


def test_signatures_judge_the_served_chain_without_roots() -> None:
    md5_intermediate = cert(
        subject="CN=Sub CA",
        common_name="Sub CA",
        signature_hash="md5",
        signature_algorithm="md5WithRSAEncryption",
    )
    sha1_root = cert(subject="CN=Root", common_name="Root", self_signed=True, signature_hash="sha1")
    s = scan(certificates=(deployment(cert(), md5_intermediate, sha1_root),))
    message = texts(decide("tls.cert.signature", s, SETTINGS))
    assert "Sub CA is signed with MD5" in message and "Root" not in message
    assert "MD5 certificate signature" in decide("tls.grade", s, SETTINGS).notes[0]


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
    assert decide("tls.cert.hostname", s, SETTINGS).ok is ok


def test_hostname_by_ip_address() -> None:
    s = scan(server_name="192.0.2.7", certificates=(deployment(cert(ip_addresses=("192.0.2.7",))),))
    assert decide("tls.cert.hostname", s, SETTINGS).ok
    s = scan(server_name="192.0.2.8", certificates=(deployment(cert(ip_addresses=("192.0.2.7",))),))
    assert "not 192.0.2.8" in texts(decide("tls.cert.hostname", s, SETTINGS))


def test_grade_verdict_carries_title_label_and_breakdown() -> None:
    v = decide("tls.grade", scan(), SETTINGS)
    assert (
        v.ok
        and v.labels == {"tls_grade": "A+"}
        and v.title == "TLS grade A+ · www.example.test:443"
    )
    assert "score 89/100" in v.notes[0]  # 128-bit suites only: cipher strength 80
    below = decide("tls.grade", scan(hsts=None, https=False), Settings(min_grade="A+"))
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
    assert "reworded null" in texts(decide("tls.ciphers", scan(protocols=weak), SETTINGS))


def test_profile_data_has_version_and_source() -> None:
    data = profiles()
    assert data.version == "5.7" and data.source.startswith("https://ssl-config.mozilla.org/")
    assert set(data.profiles) == {"modern", "intermediate", "old"}
