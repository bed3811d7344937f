"""TLS rules as data: the Mozilla profiles (shipped JSON) and named weaknesses of cipher suites."""

from __future__ import annotations

import json
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict

from harness.checks import Area, judged_by_default
from harness.errors import CouldNotMeasure, FailureKind, ProbeFailure
from harness.probes.tls.model import CertDeployment, Suite, TlsScan
from harness.subject import Subject


class Weakness(StrEnum):
    """Named reasons why a cipher suite is weak (ssh-audit style); decisions read the key, findings
    show `text`. Declared in the order findings list them."""

    NULL = "null"
    ANON = "anon"
    EXPORT = "export"
    RC4 = "rc4"
    DES = "des"
    TRIPLE_DES = "3des"
    MD5 = "md5"
    CBC = "cbc"  # weak only where a profile forbids it
    STATIC_RSA = "static_rsa"  # weak only where a profile forbids it

    @property
    def text(self) -> str:
        return WEAKNESS_TEXT[self]


WEAKNESS_TEXT = {
    Weakness.NULL: "NULL encryption",
    Weakness.ANON: "anonymous, no authentication",
    Weakness.EXPORT: "EXPORT-grade [tls.vuln.freak, tls.vuln.logjam]",
    Weakness.RC4: "RC4 [tls.vuln.rc4]",
    Weakness.DES: "single DES [tls.vuln.sweet32]",
    Weakness.TRIPLE_DES: "3DES [tls.vuln.sweet32]",
    Weakness.MD5: "MD5 MAC",
    Weakness.CBC: "CBC mode",
    Weakness.STATIC_RSA: "static RSA key exchange",
}
PROFILE_ONLY = frozenset({Weakness.CBC, Weakness.STATIC_RSA})
# OpenSSL spells NIST P-256 "prime256v1"; sslyze reports SECG names
SECG = {"prime256v1": "secp256r1", "prime192v1": "secp192r1"}
MOZILLA_VERSION_NAMES = {
    "TLSv1": "TLS 1.0",
    "TLSv1.1": "TLS 1.1",
    "TLSv1.2": "TLS 1.2",
    "TLSv1.3": "TLS 1.3",
    "SSLv3": "SSLv3",
    "SSLv2": "SSLv2",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HarnessRules(_Strict):
    forbid: tuple[Literal["cbc", "static_rsa"], ...]
    require_forward_secrecy: bool


class Profile(_Strict):
    tls_versions: tuple[str, ...]
    ciphersuites: tuple[str, ...]  # TLS 1.3
    ciphers: tuple[str, ...]  # TLS 1.2 and older, IANA names
    tls_curves: tuple[str, ...]
    dh_param_size: int | None
    ecdh_param_size: int
    certificate_types: tuple[str, ...]
    certificate_curves: tuple[str, ...]
    certificate_signatures: tuple[str, ...]
    rsa_key_size: int | None
    maximum_certificate_lifespan: int
    hsts_min_age: int
    ocsp_staple: bool
    harness: HarnessRules

    @property
    def protocols(self) -> tuple[str, ...]:
        return tuple(MOZILLA_VERSION_NAMES[v] for v in self.tls_versions)

    @property
    def curves(self) -> tuple[str, ...]:
        return tuple(SECG.get(c, c) for c in self.tls_curves)


class Profiles(_Strict):
    version: str
    source: str
    guidelines: str
    note: str
    profiles: dict[Literal["modern", "intermediate", "old"], Profile]


@cache
def profiles() -> Profiles:
    text = resources.files("harness.data").joinpath("mozilla_tls_profiles.json").read_text()
    return Profiles.model_validate(json.loads(text))


def profile(name: str) -> Profile:
    return profiles().profiles[name]  # type: ignore[index]


def key_exchange(name: str) -> str:
    """'ECDHE_RSA' for TLS_ECDHE_RSA_WITH_..., '' for TLS 1.3 suites (which name none)."""
    if "_WITH_" not in name:
        return ""
    return name.split("_WITH_")[0].removeprefix("TLS_").removeprefix("SSL_")


def forward_secret(suite: Suite) -> bool:
    kex = key_exchange(suite.name)
    if suite.name.startswith("SSL_CK_"):  # SSLv2: RSA key transport only
        return False
    return kex == "" or kex.startswith(("ECDHE", "DHE")) or kex.endswith("_anon")


def weaknesses(suite: Suite, forbid: tuple[str, ...] = ()) -> list[Weakness]:
    """Why a suite is weak: always, plus the classes a profile forbids (keys from its JSON)."""
    n = suite.name.upper()
    found = {
        Weakness.NULL: "WITH_NULL" in n or n.endswith("_NULL") or "NULL_WITH" in n,
        Weakness.ANON: suite.anonymous or "_ANON_" in n,
        Weakness.EXPORT: "EXPORT" in n,
        Weakness.RC4: "RC4" in n,
        Weakness.DES: "DES" in n and "3DES" not in n and "EDE3" not in n,
        Weakness.TRIPLE_DES: "3DES" in n or "EDE3" in n,
        Weakness.MD5: n.endswith("_MD5"),
        Weakness.CBC: "_CBC" in n,
        Weakness.STATIC_RSA: key_exchange(n) in ("RSA", "RSA_EXPORT") or n.startswith("SSL_CK_"),
    }
    return [w for w in Weakness if found[w] and (w not in PROFILE_ONLY or w in forbid)]


# sizes for groups whose names carry none; X25519 (a 255-bit field) is as strong as P-256, and
# rules written "EC under 256 bits" mean weaker than that
CURVE_BITS = {"X25519": 256, "X448": 448}


def ec_groups(scan: TlsScan) -> tuple[dict[str, int], set[int]]:
    """EC groups with their bits (scanned curves plus those seen in handshakes), DH sizes."""
    ec: dict[str, int] = {c: CURVE_BITS.get(c, _curve_bits(c)) for c in scan.curves or ()}
    dh: set[int] = set()
    for proto in scan.offered():
        for s in proto.suites:
            if s.group == "DH" and s.group_bits:
                dh.add(s.group_bits)
            elif s.group and s.group_bits:
                ec.setdefault(s.group, CURVE_BITS.get(s.group, s.group_bits))
    return ec, dh


def _curve_bits(name: str) -> int:
    digits = "".join(ch for ch in name if ch.isdigit())
    return int(digits[:3]) if digits else 0


def aead(suite: Suite) -> bool:
    n = suite.name.upper()
    return key_exchange(n) == "" or any(m in n for m in ("_GCM", "_CCM", "CHACHA20_POLY1305"))


def need(scan: TlsScan, *parts: str) -> None:
    """Raise CouldNotMeasure when a part of the scan this check needs is missing."""
    __tracebackhide__ = True
    missing = [p for p in parts if getattr(scan, p) is None]
    if parts and "protocols" in parts:
        missing += [c for c, _ in scan.errors if c.endswith("_cipher_suites")]
    if not missing:
        return
    reasons = [scan.error(p) or f"no {p} result" for p in missing]
    reasons = [r for r in reasons if r] or [f"sslyze returned no {', '.join(missing)}"]
    raise CouldNotMeasure(ProbeFailure(FailureKind.PROTOCOL, scan.where, "; ".join(reasons)))


def trusted(scan: TlsScan, deployment: CertDeployment) -> bool:
    """Whether standard clients trust this chain; CouldNotMeasure when OpenSSL gave no verdict
    (a verifier that did not run says nothing about the chain)."""
    __tracebackhide__ = True
    if deployment.trust_unmeasured:
        raise no_verdict(
            scan,
            f"OpenSSL's verification of the served chain gave no verdict "
            f"({deployment.trust_unmeasured})",
        )
    return deployment.chain_trusted


def no_verdict(scan: TlsScan, said: str) -> CouldNotMeasure:
    """A chain verifier that did not run: the check is not measured, and the fix is to let it."""
    return CouldNotMeasure(
        ProbeFailure(
            FailureKind.ERROR,
            scan.where,
            f"{said}. Fix: make sure the openssl command is installed and runs where the "
            "harness runs, then rerun",
        )
    )


@judged_by_default(Area.TLS)
def mozilla(subject: Subject) -> str:
    return f"judged against Mozilla {subject.settings.tls_profile} {profiles().version}"
