"""The SSL Labs-style grade on worked cases: score = 30% protocol + 30% key exchange + 40% cipher."""

from __future__ import annotations

import dataclasses

import pytest

from harness.policy.grade import (
    GradeInputs,
    cipher_score,
    ec_rsa_equivalent,
    grade,
    kex_score,
    rank,
)

TWO_YEARS = 63072000
# Mozilla intermediate on an ECDSA P-256 certificate: the lab's strong server
STRONG = GradeInputs(
    protocols=("TLS 1.2", "TLS 1.3"),
    cipher_bits=(128, 256),
    kex_bits=ec_rsa_equivalent(256),
    hsts_max_age=TWO_YEARS,
)


def test_strong_server_scores_93_and_gets_a_plus() -> None:
    g = grade(STRONG)
    # protocol (100+100)/2 = 100; key exchange 3072 bits -> 90; cipher (80+100)/2 = 90
    assert (g.protocol_score, g.kex_score, g.cipher_score) == (100, 90, 90)
    assert g.score == 93  # 30 + 27 + 36
    assert g.letter == "A+"
    assert g.caps == ()
    assert "score 93/100" in g.breakdown()


@pytest.mark.parametrize(
    ("change", "letter", "cap"),
    [
        ({"hsts_max_age": None}, "A", None),
        ({"hsts_max_age": 86400}, "A", None),
        ({"protocols": ("TLS 1.2",)}, "A-", "no TLS 1.3"),
        ({"warnings": ("no fallback SCSV",)}, "A-", "warnings: no fallback SCSV"),
        (
            {"protocols": ("TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3")},
            "B",
            "TLS 1.0 or 1.1 offered",
        ),
        ({"forward_secrecy": False}, "B", "no forward secrecy"),
        ({"aead": False}, "B", "no AEAD suite"),
        ({"weak_dh": True}, "B", "DH group under 2048 bits"),
        ({"compression": True}, "C", "TLS compression (CRIME)"),
        ({"rc4_or_3des_on_tls11_plus": True}, "C", "RC4 or 3DES with TLS 1.1 or later"),
        ({"heartbleed": True}, "F", "vulnerable to Heartbleed"),
        ({"ccs_injection": True}, "F", "vulnerable to CCS injection"),
        ({"robot": True}, "F", "vulnerable to ROBOT"),
        ({"insecure_renegotiation": True}, "F", "insecure renegotiation"),
        ({"export": True}, "F", "EXPORT suites offered (FREAK, LOGJAM)"),
        ({"protocols": ("SSLv2", "TLS 1.2")}, "F", "SSLv2 offered (DROWN)"),
        ({"null": True}, "F", "NULL suites offered"),
        ({"md5_signature": True}, "F", "MD5 certificate signature"),
    ],
)
def test_caps(change: dict[str, object], letter: str, cap: str | None) -> None:
    g = grade(dataclasses.replace(STRONG, **change))  # type: ignore[arg-type]
    assert g.letter == letter
    if cap:
        assert cap in [reason for _, reason in g.caps]


def test_rsa_1024_lowers_the_key_exchange_score_and_caps_at_b() -> None:
    g = grade(dataclasses.replace(STRONG, kex_bits=1024, rsa_key_bits=1024))
    assert g.kex_score == 80
    assert g.score == 90  # 30 + 24 + 36: an A by score, capped to B
    assert g.letter == "B"
    assert ("B", "RSA key under 2048 bits") in g.caps


def test_sslv2_halves_the_protocol_score_and_fails() -> None:
    g = grade(dataclasses.replace(STRONG, protocols=("SSLv2", "TLS 1.2")))
    assert g.protocol_score == 50
    assert g.score == 78  # 15 + 27 + 36
    assert g.letter == "F"


def test_anonymous_suites_zero_the_key_exchange() -> None:
    g = grade(dataclasses.replace(STRONG, anonymous=True))
    assert g.kex_score == 0
    assert g.score == 66
    assert g.letter == "F"


def test_tls10_only_is_capped_at_c() -> None:
    g = grade(dataclasses.replace(STRONG, protocols=("TLS 1.0",)))
    assert g.protocol_score == 90
    assert g.letter == "C"
    assert ("C", "no TLS 1.2 or 1.3") in g.caps and ("B", "TLS 1.0 or 1.1 offered") in g.caps


def test_letters_from_the_score_alone() -> None:
    # SSLv3 only, DES-56 and RSA-1024: 24 + 24 + 8 = 56 -> C (and capped C for no TLS 1.2)
    g = grade(GradeInputs(protocols=("SSLv3",), cipher_bits=(56,), kex_bits=1024))
    assert g.score == 56 and g.letter == "C"
    # SSLv3 only, 40-bit suites, a 511-bit key: 24 + 6 + 8 = 38 -> D
    g = grade(GradeInputs(protocols=("SSLv3",), cipher_bits=(40,), kex_bits=511))
    assert g.score == 38 and g.letter == "D"
    # SSLv2 and TLS 1.0, 40-bit suites, a 511-bit key: 13.5 + 6 + 8 = 27.5 -> 28 -> E by score
    g = grade(GradeInputs(protocols=("SSLv2", "TLS 1.0"), cipher_bits=(40,), kex_bits=511))
    assert g.score == 28 and g.letter == "F"  # E by score, then capped F for SSLv2
    # SSLv2 only with NULL and 40-bit suites, a 511-bit key: 0 + 6 + 4 = 10 -> F
    g = grade(GradeInputs(protocols=("SSLv2",), cipher_bits=(0, 40), kex_bits=511))
    assert g.score == 10 and g.letter == "F"


def test_trust_and_mismatch_show_as_t_and_m_with_the_grade_they_hide() -> None:
    g = grade(dataclasses.replace(STRONG, trust_issues=("self-signed",)))
    assert g.letter == "T" and g.letter_if_trusted == "A+"
    g = grade(dataclasses.replace(STRONG, hostname_mismatch=True))
    assert g.letter == "M" and g.letter_if_trusted == "A+"
    assert rank("T") == rank("M") == rank("F") < rank("E")


def test_score_tables() -> None:
    assert [kex_score(b) for b in (0, 511, 512, 1023, 1024, 2047, 2048, 4095, 4096)] == [
        0,
        20,
        40,
        40,
        80,
        80,
        90,
        90,
        100,
    ]
    assert [cipher_score(b) for b in (0, 56, 127, 128, 255, 256)] == [0, 20, 20, 80, 80, 100]
    assert [ec_rsa_equivalent(b) for b in (160, 224, 256, 384, 521)] == [
        1024,
        2048,
        3072,
        7680,
        15360,
    ]
    assert rank("A+") > rank("A") > rank("A-") > rank("B")
