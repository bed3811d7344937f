"""Named TLS vulnerabilities, as testssl.sh and SSL Labs name them, judged from the suites the
scan already enumerated: no handshake of their own.

A reviewer searches a dashboard or code scanning for "SWEET32" or a CVE id; these checks carry
the name, the CVE ids (references in harness/data/checks.yaml) and who is affected, where
tls.ciphers and tls.protocols judge suites and versions against a profile and point here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from importlib import resources

from harness.checks import check
from harness.data import load_yaml
from harness.outcome import Finding, Verdict
from harness.policy.tls.rules import need
from harness.probes.tls.model import Suite, TlsScan
from harness.subject import Subject

LOGJAM_DH_BITS = 1024  # DH groups this small are within reach of a state-level precomputation


def block64(suite: Suite) -> bool:
    """3DES, single DES, IDEA and RC2: 64-bit blocks, open to birthday attacks (Sweet32)."""
    n = suite.name.upper()
    return any(c in n for c in ("3DES", "EDE3", "_DES", "DES40", "IDEA", "RC2"))


def cbc(suite: Suite) -> bool:
    n = suite.name.upper()
    return "_CBC" in n or "CBC_" in n


def _rsa_export(suite: Suite) -> bool:
    n = suite.name.upper()
    return "RSA_EXPORT" in n or (n.startswith("SSL_CK_") and "EXPORT" in n)


def _dh_export(suite: Suite) -> bool:
    n = suite.name.upper()
    return "EXPORT" in n and ("DHE_" in n or "DH_" in n)


def _per_protocol(
    scan: TlsScan, pick: Callable[[Suite], bool], versions: tuple[str, ...] | None = None
) -> list[Finding]:
    """One finding per protocol version that accepts suites `pick` names; the key is the
    version and the suite names, so the finding keeps its identity across runs."""
    found = []
    for proto in scan.offered():
        if versions is not None and proto.name not in versions:
            continue
        names = [s.name for s in proto.suites if pick(s)]
        if names:
            found.append(
                Finding(f"{proto.name}: {', '.join(names)}", key=f"{proto.name}: {' '.join(names)}")
            )
    return found


@check("tls.vuln.sweet32")
def sweet32(scan: TlsScan, subject: Subject) -> Verdict:
    need(scan, "protocols")
    return Verdict(findings=tuple(_per_protocol(scan, block64)))


@check("tls.vuln.freak")
def freak(scan: TlsScan, subject: Subject) -> Verdict:
    need(scan, "protocols")
    return Verdict(findings=tuple(_per_protocol(scan, _rsa_export)))


@check("tls.vuln.logjam")
def logjam(scan: TlsScan, subject: Subject) -> Verdict:
    need(scan, "protocols")
    found = _per_protocol(scan, _dh_export)
    small = sorted(
        {
            s.group_bits
            for p in scan.offered()
            for s in p.suites
            if s.group == "DH" and s.group_bits and s.group_bits <= LOGJAM_DH_BITS
        }
    )
    found += [
        Finding(f"a DH group of {bits} bits is used for key exchange", key=f"DH-{bits}")
        for bits in small
    ]
    notes: list[str] = []
    shared = common_primes()
    seen = {s.dh_prime_sha256 for p in scan.offered() for s in p.suites if s.dh_prime_sha256}
    for fingerprint in sorted(f for f in seen if f):
        if fingerprint not in shared:
            continue
        bits, name = shared[fingerprint]
        if bits <= LOGJAM_DH_BITS:
            found.append(
                Finding(
                    f"the DH prime is a widely shared {bits}-bit one ({name}): one precomputation "
                    "breaks every server that uses it",
                    key=f"common prime {fingerprint[:16]}",
                )
            )
        else:
            notes.append(f"the DH prime is a widely shared {bits}-bit one ({name}), large enough")
    return Verdict(findings=tuple(found), notes=tuple(notes))


@cache
def common_primes() -> dict[str, tuple[int, str]]:
    """Widely shared DH primes by SHA-256 (harness/data/common_dh_primes.yaml, with its source)."""
    raw = load_yaml(resources.files("harness.data").joinpath("common_dh_primes.yaml").read_text())
    return {str(p["sha256"]): (int(p["bits"]), str(p["name"])) for p in raw["primes"]}


@check("tls.vuln.drown", needs=("tls_run",))
def drown(scan: TlsScan, subject: Subject, tls_run: Sequence[TlsScan] = ()) -> Verdict:
    """SSLv2 here, or on another endpoint of the run (`tls_run`) that serves the same
    certificate or RSA key: DROWN decrypts this endpoint's TLS through that one's SSLv2."""
    run = tls_run
    need(scan, "protocols")
    found = []
    if "SSLv2" in scan.offered_names():
        found.append(
            Finding(
                "SSLv2 is offered: its export-grade RSA lets an attacker decrypt TLS sessions "
                "made with the same RSA key",
                key="SSLv2",
            )
        )
    mine = _identities(scan)
    for other in run:
        if other.where == scan.where or "SSLv2" not in other.offered_names():
            continue
        if mine & _identities(other):
            found.append(
                Finding(
                    f"{other.where} serves the same certificate or key over SSLv2: sessions "
                    "here can be decrypted through it",
                    key=f"SSLv2 at {other.where}",
                )
            )
    notes = (f"compared with {len(run) - 1} other TLS endpoint(s) of this run",) if run else ()
    return Verdict(findings=tuple(found), notes=notes)


def _identities(scan: TlsScan) -> set[str]:
    leaves = [d.leaf for d in scan.certificates or ()]
    return {c.fingerprint for c in leaves if c.fingerprint} | {
        c.key_sha256 for c in leaves if c.key_sha256
    }


@check("tls.vuln.poodle")
def poodle(scan: TlsScan, subject: Subject) -> Verdict:
    need(scan, "protocols")
    return Verdict(findings=tuple(_per_protocol(scan, cbc, ("SSLv3",))))


@check("tls.vuln.rc4")
def rc4(scan: TlsScan, subject: Subject) -> Verdict:
    need(scan, "protocols")
    return Verdict(findings=tuple(_per_protocol(scan, lambda s: "RC4" in s.name.upper())))


@check("tls.vuln.beast")
def beast(scan: TlsScan, subject: Subject) -> Verdict:
    need(scan, "protocols")
    return Verdict(findings=tuple(_per_protocol(scan, cbc, ("SSLv3", "TLS 1.0"))))


@check("tls.vuln.lucky13")
def lucky13(scan: TlsScan, subject: Subject) -> Verdict:
    need(scan, "protocols")
    versions = ("SSLv3", "TLS 1.0", "TLS 1.1", "TLS 1.2")
    return Verdict(findings=tuple(_per_protocol(scan, cbc, versions)))


@check("tls.post_quantum")
def post_quantum(scan: TlsScan, subject: Subject) -> Verdict:
    need(scan, "protocols")
    if "TLS 1.3" not in scan.offered_names():
        return Verdict.skip("hybrid post-quantum key exchange needs TLS 1.3, which is not offered")
    if scan.post_quantum is None:
        if scan.starttls:
            return Verdict.skip(f"not measured over STARTTLS ({scan.starttls}) yet")
        need(scan, "post_quantum")
    notes = (scan.post_quantum_note,) if scan.post_quantum_note else ()
    if not scan.post_quantum:
        return Verdict(
            findings=(
                Finding(
                    "no hybrid post-quantum key exchange is accepted (X25519MLKEM768, which "
                    "current Chrome, Firefox and Safari offer): traffic recorded today can be "
                    "decrypted once a large quantum computer exists",
                    key="no hybrid group",
                ),
            ),
            notes=notes,
        )
    return Verdict(notes=notes)
