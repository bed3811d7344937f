"""What the TLS probe measured on one endpoint, as frozen data with no sslyze types in it.

Policy reads only these classes, so its unit tests can build a measurement by hand. A value of
None means "this part of the scan failed"; `errors` says why (policy then reports the check as
could-not-measure rather than passing it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

# protocol names as shown to people, oldest first
PROTOCOLS = ("SSLv2", "SSLv3", "TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3")


class Robot(StrEnum):
    """sslyze's ROBOT verdict (RobotScanResultEnum), kept as our own enum so policy needs no sslyze."""

    VULNERABLE_WEAK_ORACLE = "VULNERABLE_WEAK_ORACLE"
    VULNERABLE_STRONG_ORACLE = "VULNERABLE_STRONG_ORACLE"
    NOT_VULNERABLE_NO_ORACLE = "NOT_VULNERABLE_NO_ORACLE"
    NOT_VULNERABLE_RSA_NOT_SUPPORTED = "NOT_VULNERABLE_RSA_NOT_SUPPORTED"
    UNKNOWN_INCONSISTENT_RESULTS = "UNKNOWN_INCONSISTENT_RESULTS"


@dataclass(frozen=True)
class Suite:
    """One accepted cipher suite (IANA name) with the key exchange the server chose for it."""

    name: str
    bits: int  # symmetric key size
    anonymous: bool = False
    group: str | None = None  # ephemeral group: "X25519", "secp256r1", "DH"
    group_bits: int | None = None  # DH prime bits, or EC field bits (X25519 = 255)
    dh_prime_sha256: str | None = None  # the DH prime's fingerprint, to spot widely shared ones


@dataclass(frozen=True)
class ProtocolSupport:
    name: str  # one of PROTOCOLS
    offered: bool
    suites: tuple[Suite, ...] = ()
    # how a refusal was settled without sslyze's per-suite scan (one handshake offering every
    # suite, see probes/tls/versions); empty when sslyze scanned every suite
    evidence: str = ""


@dataclass(frozen=True)
class Certificate:
    subject: str
    issuer: str
    self_signed: bool
    not_before: dt.datetime
    not_after: dt.datetime
    key_type: str  # "RSA", "EC", "DSA", "Ed25519", ...
    key_bits: int
    curve: str | None  # EC keys: "secp256r1"
    signature_algorithm: str  # e.g. "ecdsa-with-SHA256", "sha1WithRSAEncryption"
    signature_hash: str | None  # "sha256", "sha1", "md5"; None for Ed25519
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    common_name: str | None = None
    fingerprint: str = ""  # SHA-256 of the DER encoding: the certificate's identity
    key_sha256: str = ""  # SHA-256 of the public key (SubjectPublicKeyInfo): one key, many certs


@dataclass(frozen=True)
class TrustCheck:
    """One verifier's verdict on a chain: sslyze's per-store validation (name and dates
    included), or one of harness.probes.tls.trust's verifiers."""

    store: str
    ok: bool
    error: str | None = None
    # False when the verifier could not run (missing, hung, failed to start): no verdict then
    measured: bool = True


@dataclass(frozen=True)
class CertDeployment:
    """One leaf certificate the server serves, with the chain it sends (leaf first)."""

    chain: tuple[Certificate, ...]
    validation: tuple[TrustCheck, ...]
    # OpenSSL's default verification reaches a trusted root (system store or ca_bundle), as
    # standard clients judge it; the name and the validity dates are left aside: those are
    # tls.cert.hostname's and tls.cert.validity's business
    chain_trusted: bool
    trusted_by: str | None = None
    trust_error: str | None = None
    trust_unmeasured: str | None = None  # why OpenSSL's verification gave no verdict, if so
    # strict validators' verdicts (name and dates left aside) and the profile defects named
    strict: tuple[TrustCheck, ...] = ()
    strict_defects: tuple[str, ...] = ()
    # deployment facts from the same handshake (sslyze's certificate_info); None: not measured
    publicly_trusted: bool = False  # valid in one of the public stores sslyze ships
    must_staple: bool | None = None  # the leaf's TLS Feature extension asks for stapling
    ocsp_stapled: bool | None = None  # the server stapled an OCSP response
    ocsp_status: str | None = None  # the stapled response's status ("SUCCESSFUL", ...)
    ocsp_responder: str | None = None  # the leaf's OCSP URL (AIA), if it names one
    sct_count: int | None = None  # SCTs embedded in the leaf
    chain_in_order: bool | None = None  # each certificate signed by the next
    sends_root: bool | None = None  # the served chain includes the trust anchor
    unneeded: tuple[str, ...] = ()  # served certificates that are not on the verified path

    @property
    def leaf(self) -> Certificate:
        return self.chain[0]


@dataclass(frozen=True)
class Hsts:
    present: bool
    max_age: int | None = None


@dataclass(frozen=True)
class TlsScan:
    """Everything one sslyze pass measured on one endpoint."""

    host: str
    port: int
    server_name: str
    starttls: str | None
    https: bool
    scanned_at: dt.datetime
    protocols: tuple[ProtocolSupport, ...]
    curves: tuple[str, ...] | None  # supported EC groups for key exchange
    certificates: tuple[CertDeployment, ...] | None
    heartbleed: bool | None
    ccs_injection: bool | None
    robot: Robot | None
    secure_renegotiation: bool | None
    client_renegotiation: bool | None  # accepted at least one client-initiated renegotiation
    compression: bool | None
    fallback_scsv: bool | None
    extended_master_secret: bool | None
    hsts: Hsts | None  # None: not measured (see errors) or not an HTTPS endpoint
    errors: tuple[tuple[str, str], ...] = ()  # (scan command, reason)
    fallback_note: str | None = None  # what the fallback SCSV handshakes saw
    # the hybrid post-quantum group a TLS 1.3 ClientHello offering only those got chosen, "" when
    # refused; None when not measured (see errors) or not asked (no TLS 1.3, STARTTLS)
    post_quantum: str | None = None
    post_quantum_note: str | None = None  # what the server answered, or why it was not asked
    pacing: str | None = None  # set when measured one connection at a time, and why

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def offered(self) -> list[ProtocolSupport]:
        return [p for p in self.protocols if p.offered]

    def offered_names(self) -> list[str]:
        return [p.name for p in self.protocols if p.offered]

    def error(self, command: str) -> str | None:
        for name, reason in self.errors:
            if name == command:
                return reason
        return None
