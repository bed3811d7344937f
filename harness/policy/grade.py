"""An SSL Labs-style grade (A+ to F, T for trust, M for mismatch), as pure functions.

Follows the SSL Labs server rating guide as testssl.sh implements it: a score of protocol support
(30%), key exchange (30%) and cipher strength (40%), turned into a letter, then capped by named
defects. `grade()` knows nothing about sslyze; harness.policy.tls derives its inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

# worst first; T and M rank with F: an untrusted or mismatched certificate fails any min_grade
ORDER = ("F", "E", "D", "C", "B", "A-", "A", "A+")
PROTOCOL_SCORE = {
    "SSLv2": 0,
    "SSLv3": 80,
    "TLS 1.0": 90,
    "TLS 1.1": 95,
    "TLS 1.2": 100,
    "TLS 1.3": 100,
}
LETTERS = ((80, "A"), (65, "B"), (50, "C"), (35, "D"), (20, "E"))
HSTS_FOR_A_PLUS = 180 * 24 * 3600  # the rating guide's six months


@dataclass(frozen=True)
class GradeInputs:
    """What the grade is computed from; every field is a plain fact about one endpoint."""

    protocols: tuple[str, ...]  # offered, names as in PROTOCOL_SCORE
    cipher_bits: tuple[int, ...]  # symmetric key bits of every offered suite (NULL: 0)
    kex_bits: int  # weakest key exchange, in RSA-equivalent bits; 0 when anonymous suites exist
    export: bool = False
    null: bool = False
    anonymous: bool = False
    rc4: bool = False
    rc4_or_3des_on_tls11_plus: bool = False
    forward_secrecy: bool = True  # some suite with (EC)DHE, or TLS 1.3, is offered
    aead: bool = True  # some AEAD suite (GCM, CCM, ChaCha20-Poly1305, TLS 1.3) is offered
    weak_dh: bool = False  # a DH group under 2048 bits
    heartbleed: bool = False
    ccs_injection: bool = False
    robot: bool = False
    insecure_renegotiation: bool = False
    compression: bool = False
    md5_signature: bool = False
    rsa_key_bits: int | None = None  # the certificate's RSA key, if RSA
    trust_issues: tuple[str, ...] = ()  # untrusted, self-signed, expired, SHA-1 chain
    hostname_mismatch: bool = False
    warnings: tuple[str, ...] = ()  # lesser defects that keep an A from becoming A+
    hsts_max_age: int | None = None


@dataclass(frozen=True)
class Grade:
    letter: str  # A+ ... F, or T / M
    score: int
    protocol_score: float
    kex_score: int
    cipher_score: float
    caps: tuple[tuple[str, str], ...] = ()  # (cap letter, reason), in the order applied
    letter_if_trusted: str = ""  # the grade ignoring T and M, as SSL Labs shows it

    @property
    def rank(self) -> int:
        return rank(self.letter)

    def breakdown(self) -> str:
        return (
            f"score {self.score}/100 = protocol {self.protocol_score:g} x 30% + key exchange "
            f"{self.kex_score} x 30% + cipher strength {self.cipher_score:g} x 40%"
        )


def rank(letter: str) -> int:
    return ORDER.index(letter) if letter in ORDER else 0


def kex_score(bits: int) -> int:
    if bits <= 0:
        return 0
    for limit, score in ((512, 20), (1024, 40), (2048, 80), (4096, 90)):
        if bits < limit:
            return score
    return 100


def cipher_score(bits: int) -> int:
    if bits <= 0:
        return 0
    return 20 if bits < 128 else 80 if bits < 256 else 100


def ec_rsa_equivalent(bits: int) -> int:
    """RSA-equivalent strength of an elliptic-curve key (NIST SP 800-57 part 1, table 2)."""
    for limit, rsa in ((512, 15360), (384, 7680), (256, 3072), (224, 2048), (160, 1024)):
        if bits >= limit:
            return rsa
    return 512


def _cap(grade: str, cap: str) -> str:
    return cap if rank(cap) < rank(grade) else grade


def grade(i: GradeInputs) -> Grade:
    if not i.protocols:
        return Grade("F", 0, 0, 0, 0, (("F", "no protocol offered"),), "F")
    p_scores = [PROTOCOL_SCORE[p] for p in i.protocols]
    p_score = (max(p_scores) + min(p_scores)) / 2
    k_score = 0 if i.anonymous else kex_score(i.kex_bits)
    c_scores = [cipher_score(b) for b in i.cipher_bits] or [0]
    c_score = (max(c_scores) + min(c_scores)) / 2
    score = round(0.3 * p_score + 0.3 * k_score + 0.4 * c_score)
    letter = next((lt for limit, lt in LETTERS if score >= limit), "F")
    rules = (
        ("F", "SSLv2 offered (DROWN)", "SSLv2" in i.protocols),
        ("F", "EXPORT suites offered (FREAK, LOGJAM)", i.export),
        ("F", "NULL suites offered", i.null),
        ("F", "anonymous suites offered", i.anonymous),
        ("F", "vulnerable to Heartbleed", i.heartbleed),
        ("F", "vulnerable to CCS injection", i.ccs_injection),
        ("F", "vulnerable to ROBOT", i.robot),
        ("F", "insecure renegotiation", i.insecure_renegotiation),
        ("F", "MD5 certificate signature", i.md5_signature),
        ("C", "no TLS 1.2 or 1.3", not {"TLS 1.2", "TLS 1.3"} & set(i.protocols)),
        ("C", "TLS compression (CRIME)", i.compression),
        ("C", "RC4 or 3DES with TLS 1.1 or later", i.rc4_or_3des_on_tls11_plus),
        ("B", "TLS 1.0 or 1.1 offered", bool({"TLS 1.0", "TLS 1.1"} & set(i.protocols))),
        ("B", "no forward secrecy", not i.forward_secrecy),
        ("B", "no AEAD suite", not i.aead),
        ("B", "RC4 offered", i.rc4),
        ("B", "DH group under 2048 bits", i.weak_dh),
        ("B", "RSA key under 2048 bits", i.rsa_key_bits is not None and i.rsa_key_bits < 2048),
    )
    caps: list[tuple[str, str]] = []
    for cap, reason, applies in rules:
        if applies:
            caps.append((cap, reason))
            letter = _cap(letter, cap)
    if letter == "A":
        if "TLS 1.3" not in i.protocols:
            caps.append(("A-", "no TLS 1.3"))
            letter = "A-"
        elif i.warnings:
            caps.append(("A-", "warnings: " + ", ".join(i.warnings)))
            letter = "A-"
        elif i.hsts_max_age is not None and i.hsts_max_age >= HSTS_FOR_A_PLUS:
            letter = "A+"
    if_trusted = letter
    if i.trust_issues:
        caps.append(("T", "certificate not trusted: " + ", ".join(i.trust_issues)))
        letter = "T"
    if i.hostname_mismatch:
        caps.append(("M", "certificate name mismatch"))
        letter = "T" if i.trust_issues else "M"
    return Grade(letter, score, p_score, k_score, c_score, tuple(caps), if_trusted)
