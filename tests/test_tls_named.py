"""Named TLS vulnerabilities on hand-built measurements: the stacks that offer SSLv2, SSLv3,
EXPORT, RC4 or 3DES cannot run here (Debian's OpenSSL 3 and the wheels' OpenSSL have none of
them), so each is fed the suites such a server enumerates. The passes, and the failures a
Python ssl server can show (1024-bit DH, CBC over TLS 1.0), run against real servers in
test_tls_suite.py. Each named check is measured from the enumeration: a scan without it is
broken, never passed."""

from __future__ import annotations

import dataclasses

import pytest
from checking import decide
from test_tls_policy import NAMED, SETTINGS, cert, deployment, scan, suites, texts

from harness.errors import CouldNotMeasure
from harness.probes.tls.model import ProtocolSupport

SSL2 = (
    "SSL_CK_RC4_128_WITH_MD5",
    "SSL_CK_DES_192_EDE3_CBC_WITH_MD5",
    "SSL_CK_RC4_128_EXPORT40_WITH_MD5",
)
SSL3 = ("TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_RC4_128_SHA")
TLS10 = (
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_RSA_EXPORT_WITH_RC4_40_MD5",
    "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA",
    "TLS_RSA_WITH_IDEA_CBC_SHA",
)


def legacy() -> object:
    """What a 1.0.1e-era server with every legacy option on enumerates."""
    return scan(
        protocols=(
            ProtocolSupport("SSLv2", True, suites(*SSL2, group=None)),
            ProtocolSupport("SSLv3", True, suites(*SSL3, group=None)),
            ProtocolSupport("TLS 1.0", True, suites(*TLS10, group=("DH", 512))),
            ProtocolSupport("TLS 1.1", False),
            ProtocolSupport("TLS 1.2", True, suites("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")),
            ProtocolSupport("TLS 1.3", False),
        )
    )


EXPECTED = {
    "sweet32": [
        "SSL_CK_DES_192_EDE3_CBC_WITH_MD5",
        "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
        "TLS_RSA_WITH_IDEA_CBC_SHA",
        "DES40",
    ],
    "freak": ["SSL_CK_RC4_128_EXPORT40_WITH_MD5", "TLS_RSA_EXPORT_WITH_RC4_40_MD5"],
    "logjam": ["TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA", "a DH group of 512 bits"],
    "drown": ["SSLv2 is offered"],
    "poodle": ["SSLv3: TLS_RSA_WITH_AES_128_CBC_SHA"],
    "rc4": ["SSL_CK_RC4_128_WITH_MD5", "SSLv3: TLS_RSA_WITH_RC4_128_SHA"],
    "beast": ["SSLv3: TLS_RSA_WITH_AES_128_CBC_SHA", "TLS 1.0: TLS_RSA_WITH_3DES_EDE_CBC_SHA"],
    "lucky13": ["SSLv3: TLS_RSA_WITH_AES_128_CBC_SHA", "TLS 1.0: TLS_RSA_WITH_3DES_EDE_CBC_SHA"],
}


@pytest.mark.parametrize("check", NAMED)
def test_each_named_vulnerability_fails_a_legacy_server(check: str) -> None:
    verdict = decide(check, legacy(), SETTINGS)
    found = texts(verdict)
    for fragment in EXPECTED[check.rsplit(".", 1)[1]]:
        assert fragment in found, found


@pytest.mark.parametrize("check", NAMED)
def test_each_named_vulnerability_passes_a_strong_server(check: str) -> None:
    assert decide(check, scan(), SETTINGS).ok


@pytest.mark.parametrize("check", NAMED)
def test_a_scan_without_the_enumeration_is_broken(check: str) -> None:
    failed = scan(errors=(("tls_1_0_cipher_suites", "the handshakes timed out"),))
    with pytest.raises(CouldNotMeasure):
        decide(check, failed, SETTINGS)


def test_sslv3_without_cbc_is_no_poodle_but_rc4() -> None:
    only_rc4 = scan(
        protocols=(
            *scan().protocols[:1],
            ProtocolSupport("SSLv3", True, suites("TLS_RSA_WITH_RC4_128_SHA", group=None)),
            *scan().protocols[2:],
        )
    )
    assert decide("tls.vuln.poodle", only_rc4, SETTINGS).ok
    assert not decide("tls.vuln.rc4", only_rc4, SETTINGS).ok


def test_a_2048_bit_dh_group_is_no_logjam() -> None:
    tls12 = ProtocolSupport(
        "TLS 1.2", True, suites("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", group=("DH", 2048))
    )
    assert decide(
        "tls.vuln.logjam",
        scan(protocols=(*scan().protocols[:4], tls12, *scan().protocols[5:])),
        SETTINGS,
    ).ok


def test_finding_identity_is_the_version_and_suites_not_the_prose() -> None:
    keys = {f.key for f in decide("tls.vuln.sweet32", legacy(), SETTINGS).findings}
    assert (
        "TLS 1.0: TLS_RSA_WITH_3DES_EDE_CBC_SHA TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA TLS_RSA_WITH_IDEA_CBC_SHA"
        in keys
    )


def test_tls_ciphers_points_at_the_named_checks() -> None:
    message = texts(decide("tls.ciphers", legacy(), SETTINGS))
    assert "[tls.vuln.sweet32]" in message and "[tls.vuln.rc4]" in message
    assert "[tls.vuln.freak, tls.vuln.logjam]" in message
    protocols = texts(decide("tls.protocols", legacy(), SETTINGS))
    assert "SSLv2 is offered (see tls.vuln.drown)" in protocols
    assert "SSLv3 is offered (see tls.vuln.poodle)" in protocols


def test_a_widely_shared_2048_bit_prime_is_a_note_not_a_finding() -> None:
    from harness.policy.tls.named import common_primes

    big = next(f for f, (bits, _) in common_primes().items() if bits == 2048)
    suite = dataclasses.replace(
        suites("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", group=("DH", 2048))[0], dh_prime_sha256=big
    )
    tls12 = ProtocolSupport("TLS 1.2", True, (suite,))
    verdict = decide(
        "tls.vuln.logjam",
        scan(protocols=(*scan().protocols[:4], tls12, *scan().protocols[5:])),
        SETTINGS,
    )
    assert verdict.ok and any("widely shared 2048-bit" in n for n in verdict.notes)


def test_post_quantum_judges_what_the_hello_measured() -> None:
    assert decide("tls.post_quantum", scan(), SETTINGS).ok
    refused = decide("tls.post_quantum", scan(post_quantum=""), SETTINGS)
    assert "X25519MLKEM768" in texts(refused) and refused.findings[0].key == "no hybrid group"
    unanswered = scan(post_quantum=None, errors=(("post_quantum", "no usable answer"),))
    with pytest.raises(CouldNotMeasure):
        decide("tls.post_quantum", unanswered, SETTINGS)
    starttls = decide("tls.post_quantum", scan(post_quantum=None, starttls="smtp"), SETTINGS)
    assert starttls.not_applicable and "STARTTLS" in starttls.not_applicable
    tls12_only = scan(protocols=(*scan().protocols[:5], ProtocolSupport("TLS 1.3", False)))
    assert decide("tls.post_quantum", tls12_only, SETTINGS).not_applicable


def test_drown_looks_across_the_run_for_the_same_key_over_sslv2() -> None:
    shared = cert(fingerprint="aa" * 32, key_sha256="bb" * 32)
    other_cert = cert(fingerprint="cc" * 32, key_sha256="bb" * 32)  # reissued, same key
    here = scan(certificates=(deployment(shared),))
    there = dataclasses.replace(legacy(), port=8443, certificates=(deployment(other_cert),))  # type: ignore[type-var]
    unrelated = dataclasses.replace(
        there, port=9443, certificates=(deployment(cert(key_sha256="dd" * 32)),)
    )  # type: ignore[type-var]
    verdict = decide("tls.vuln.drown", here, SETTINGS, [here, there, unrelated])
    assert [f.key for f in verdict.findings] == ["SSLv2 at 203.0.113.5:8443"]
    assert "compared with 2 other" in verdict.notes[0]
    assert decide("tls.vuln.drown", here, SETTINGS, [here, unrelated]).ok
