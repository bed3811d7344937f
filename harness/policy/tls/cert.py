"""Certificate checks: validity, expiry, trust, host name, key and signature of the served chain."""

from __future__ import annotations

from harness.checks import check
from harness.errors import CouldNotMeasure, FailureKind, ProbeFailure
from harness.outcome import Finding, Verdict
from harness.policy.tls.rules import need, no_verdict, trusted
from harness.probes.tls.model import CertDeployment, Certificate, TlsScan
from harness.subject import Subject

WEAK_HASHES = {"sha1": "SHA-1", "md5": "MD5", "md2": "MD2", "md4": "MD4", "unknown": "unknown"}
EC_MIN, RSA_MIN = 256, 2048


def _deployments(scan: TlsScan) -> tuple[CertDeployment, ...]:
    need(scan, "certificates")
    assert scan.certificates is not None
    if not scan.certificates:
        raise CouldNotMeasure(
            ProbeFailure(FailureKind.PROTOCOL, scan.where, "the server sent no certificate")
        )
    return scan.certificates


def _who(cert: Certificate) -> str:
    return cert.common_name or cert.subject


def _of(cert: Certificate, text: str) -> Finding:
    """A certificate finding is known by the certificate's fingerprint, not by its day count."""
    return Finding(text, key=f"sha256:{cert.fingerprint}" if cert.fingerprint else _who(cert))


@check("tls.cert.validity")
def cert_validity(scan: TlsScan, subject: Subject) -> Verdict:
    found = []
    now = scan.scanned_at
    for d in _deployments(scan):
        leaf = d.leaf
        if now < leaf.not_before:
            found.append(
                _of(
                    leaf,
                    f"the certificate for {_who(leaf)} is not valid before {leaf.not_before:%Y-%m-%d %H:%M} UTC",
                )
            )
        elif now > leaf.not_after:
            days = (now - leaf.not_after).days
            found.append(
                _of(
                    leaf,
                    f"the certificate for {_who(leaf)} expired on {leaf.not_after:%Y-%m-%d} ({days} days ago)",
                )
            )
    return Verdict(findings=tuple(found))


@check(
    "tls.cert.expiry",
    judged_against=lambda s: f"judged against a minimum of {s.settings.cert_expiry_days} days left",
)
def cert_expiry(scan: TlsScan, subject: Subject) -> Verdict:
    settings = subject.settings
    found, notes, expired = [], [], []
    for d in _deployments(scan):
        leaf = d.leaf
        days = (leaf.not_after - scan.scanned_at).days
        if days < 0:
            # an expired certificate is tls.cert.validity's critical finding; "expires soon"
            # beside it would only contradict it
            expired.append(f"{_who(leaf)} expired on {leaf.not_after:%Y-%m-%d}")
        elif days < settings.cert_expiry_days:
            found.append(
                _of(
                    leaf,
                    f"the certificate for {_who(leaf)} expires on {leaf.not_after:%Y-%m-%d}, in {days} days "
                    f"(the minimum is {settings.cert_expiry_days} days)",
                )
            )
        else:
            notes.append(f"{_who(leaf)}: {days} days left, until {leaf.not_after:%Y-%m-%d}")
    said = "; ".join(expired)
    if expired and not found and not notes:
        return Verdict.skip(
            f"the certificate already expired ({said}): tls.cert.validity reports it"
        )
    if expired:
        notes.append(f"{said}: reported by tls.cert.validity")
    return Verdict(findings=tuple(found), notes=tuple(notes))


@check(
    "tls.cert.trust",
    judged_against=lambda s: (
        "judged against the system trust stores"
        + (" and the ca_bundle" if s.settings.ca_bundle else "")
    ),
)
def cert_trust(scan: TlsScan, subject: Subject) -> Verdict:
    """Does a standard client (OpenSSL's default verification) build a chain to a trusted root?"""
    settings = subject.settings
    texts, notes = [], []
    stores = "the system trust store" + (" and the ca_bundle" if settings.ca_bundle else "")
    for d in _deployments(scan):
        leaf = d.leaf
        if trusted(scan, d):
            notes.append(f"{_who(leaf)}: trusted by {d.trusted_by} ({stores})")
        elif leaf.self_signed:
            texts.append(
                _of(leaf, f"the certificate for {_who(leaf)} is self-signed and not in {stores}")
            )
        else:
            texts.append(
                _of(
                    leaf,
                    f"the chain of {_who(leaf)}, issued by {leaf.issuer}, does not validate against "
                    f"{stores} with OpenSSL's default verification: "
                    f"{d.trust_error or 'no path to a trusted root'}",
                )
            )
    return Verdict(findings=tuple(texts), notes=tuple(notes))


# pyca's "no path" means its bundled store lacks the root the system store has: a store
# difference, not a profile defect, so it is not held against the chain here
_STORE_DIFFERENCE = "no path to a trusted root"
STRICT_WHO = (
    "Rejected by strict validators: pyca/cryptography (and so sslyze), and Python 3.13+ "
    "ssl.create_default_context(), which sets VERIFY_X509_STRICT. Accepted by browsers, "
    "OpenSSL's default verification and curl"
)


@check("tls.cert.strict")
def cert_strict(scan: TlsScan, subject: Subject) -> Verdict:
    """Trusted by standard clients, but does the chain keep the profile strict validators enforce?

    An untrusted chain is tls.cert.trust's finding; strictness is then not judged (skipped), so
    one defect is not reported twice.
    """
    texts, notes = [], []
    if not [d for d in _deployments(scan) if trusted(scan, d)]:
        return Verdict.skip(
            "no served chain is trusted by standard clients (tls.cert.trust reports it), "
            "so strict validation is not judged on top"
        )
    for d in _deployments(scan):
        if not d.chain_trusted:
            notes.append(f"{_who(d.leaf)}: not trusted by standard clients, see tls.cert.trust")
            continue
        silent = [c for c in d.strict if not c.measured]
        if silent:  # a strict verifier that did not run would read as a defect
            raise no_verdict(
                scan, "; ".join(f"{c.store} gave no verdict ({c.error})" for c in silent)
            )
        rejected = [
            c for c in d.strict if not c.ok and not (c.error or "").startswith(_STORE_DIFFERENCE)
        ]
        if not rejected and not d.strict_defects:
            notes.append(f"{_who(d.leaf)}: accepted by {', '.join(c.store for c in d.strict)}")
            continue
        defects = list(d.strict_defects) or ["a defect the harness does not name"]
        said = "; ".join(f"{c.store}: {c.error}" for c in rejected)
        texts.append(
            _of(
                d.leaf,
                f"the chain of {_who(d.leaf)} breaks the RFC 5280 / CA/B Forum profile: "
                f"{', '.join(defects)}" + (f" ({said})" if said else ""),
            )
        )
    if texts:
        notes.insert(0, STRICT_WHO)
    return Verdict(findings=tuple(texts), notes=tuple(notes))


def name_matches(name: str, cert: Certificate) -> bool:
    name = name.lower().rstrip(".")
    if name in cert.ip_addresses:
        return True
    patterns = cert.dns_names or ((cert.common_name,) if cert.common_name else ())
    for pattern in (p.lower().rstrip(".") for p in patterns):
        if pattern == name:
            return True
        # a wildcard covers exactly one leftmost label
        if pattern.startswith("*.") and "." in name and name.split(".", 1)[1] == pattern[2:]:
            return True
    return False


@check("tls.cert.hostname")
def cert_hostname(scan: TlsScan, subject: Subject) -> Verdict:
    texts = []
    for d in _deployments(scan):
        leaf = d.leaf
        if not name_matches(scan.server_name, leaf):
            names = ", ".join([*leaf.dns_names, *leaf.ip_addresses]) or f"CN {leaf.common_name}"
            texts.append(_of(leaf, f"the certificate is for {names}, not {scan.server_name}"))
    return Verdict(findings=tuple(texts))


def weak_key(cert: Certificate) -> str | None:
    if cert.key_type in ("RSA", "DSA") and cert.key_bits < RSA_MIN:
        return f"{cert.key_type} key of {cert.key_bits} bits (under {RSA_MIN})"
    if cert.key_type == "EC" and cert.key_bits < EC_MIN:
        return f"EC key of {cert.key_bits} bits on {cert.curve} (under {EC_MIN})"
    return None


@check("tls.cert.key")
def cert_key(scan: TlsScan, subject: Subject) -> Verdict:
    texts = []
    for d in _deployments(scan):
        weak = weak_key(d.leaf)
        if weak:
            texts.append(_of(d.leaf, f"the certificate for {_who(d.leaf)} has an {weak}"))
    notes = (
        ()
        if texts
        else tuple(
            f"{_who(d.leaf)}: {d.leaf.key_type} {d.leaf.key_bits} bits"
            for d in scan.certificates or ()
        )
    )
    return Verdict(findings=tuple(texts), notes=notes)


def weak_signatures(d: CertDeployment) -> list[Certificate]:
    """Served certificates signed with a weak hash; self-signed roots other than the leaf excluded."""
    return [
        c
        for i, c in enumerate(d.chain)
        if (i == 0 or not c.self_signed) and (c.signature_hash or "sha256") in WEAK_HASHES
    ]


@check("tls.cert.signature")
def cert_signature(scan: TlsScan, subject: Subject) -> Verdict:
    texts = []
    for d in _deployments(scan):
        for c in weak_signatures(d):
            texts.append(
                _of(
                    c,
                    f"{_who(c)} is signed with {WEAK_HASHES[c.signature_hash or 'unknown']} "
                    f"({c.signature_algorithm})",
                )
            )
    return Verdict(findings=tuple(texts))
