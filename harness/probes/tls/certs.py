"""Certificates from sslyze's certificate_info result, turned into plain `Certificate` data.

Trust is judged as standard clients judge it (harness.probes.tls.trust: OpenSSL's default
verification against the system store plus the ca_bundle). sslyze's own validation uses
pyca/cryptography's strict verifier, which also checks the name and the dates; it is kept as one
of the strict views: a chain it rejected is verified again at a moment inside the leaf's
validity and for a name the leaf carries, so only profile defects remain in its verdict.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa
from cryptography.x509.oid import NameOID

from harness.probes.tls.model import CertDeployment, Certificate, TrustCheck
from harness.probes.tls.trust import openssl_verify, strict_defects

PYCA = "pyca/cryptography (sslyze)"


def deployments(cert_info: Any, ca_bundle: Path | None = None) -> tuple[CertDeployment, ...]:
    return tuple(_deployment(d, ca_bundle) for d in cert_info.certificate_deployments)


def _deployment(deployment: Any, ca_bundle: Path | None) -> CertDeployment:
    received: list[x509.Certificate] = list(deployment.received_certificate_chain)
    checks = tuple(
        TrustCheck(r.trust_store.name, r.was_validation_successful, r.validation_error)
        for r in deployment.path_validation_results
    )
    client = openssl_verify(received, ca_bundle, strict=False)
    pyca_store = next((c.store for c in checks if c.ok), None)
    pyca_error = None
    if pyca_store is None:
        pyca_store, pyca_error = _verify_ignoring_name_and_dates(deployment, received)
    strict = (
        TrustCheck(PYCA, pyca_store is not None, pyca_error),
        openssl_verify(received, ca_bundle, strict=True),
    )
    return CertDeployment(
        chain=tuple(certificate(c) for c in received),
        validation=checks,
        chain_trusted=client.ok,
        trusted_by=client.store if client.ok else None,
        trust_error=client.error,
        trust_unmeasured=None if client.measured else client.error,
        strict=strict,
        strict_defects=strict_defects(received),
        **_deployment_facts(deployment, received, checks),
    )


PUBLIC_STORES = frozenset({"Mozilla", "Apple", "Android", "Windows", "Java"})


def _deployment_facts(
    deployment: Any, received: list[x509.Certificate], checks: tuple[TrustCheck, ...]
) -> dict[str, Any]:
    """Stapling, SCTs and the served chain's shape, as sslyze's certificate_info read them."""
    ocsp = deployment.ocsp_response
    verified = deployment.verified_certificate_chain or []
    on_path = {c.fingerprint(hashes.SHA256()) for c in verified}
    unneeded = tuple(
        _name(c) for c in received[1:] if verified and c.fingerprint(hashes.SHA256()) not in on_path
    )
    return {
        "publicly_trusted": any(c.ok and c.store in PUBLIC_STORES for c in checks),
        "must_staple": deployment.leaf_certificate_has_must_staple_extension,
        "ocsp_stapled": ocsp is not None,
        "ocsp_status": ocsp.response_status.name if ocsp is not None else None,
        "ocsp_responder": _ocsp_url(received[0]) if received else None,
        "sct_count": deployment.leaf_certificate_signed_certificate_timestamps_count,
        "chain_in_order": deployment.received_chain_has_valid_order,
        "sends_root": deployment.received_chain_contains_anchor_certificate,
        "unneeded": unneeded,
    }


def _ocsp_url(leaf: x509.Certificate) -> str | None:
    try:
        aia = leaf.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except (x509.ExtensionNotFound, ValueError):
        return None
    for desc in aia:
        if desc.access_method == x509.oid.AuthorityInformationAccessOID.OCSP:
            return str(desc.access_location.value)
    return None


def _name(cert: x509.Certificate) -> str:
    try:
        return cert.subject.rfc4514_string()
    except ValueError:
        return cert.fingerprint(hashes.SHA256()).hex()[:16]


def _verify_ignoring_name_and_dates(
    deployment: Any, received: list[x509.Certificate]
) -> tuple[str | None, str | None]:
    leaf = received[0]
    subject = _a_name_of(leaf)
    if subject is None:
        return None, "the leaf certificate has no subjectAltName, which clients require"
    lifetime = leaf.not_valid_after_utc - leaf.not_valid_before_utc
    moment = leaf.not_valid_before_utc + lifetime / 2
    pems = [c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in received]
    errors: dict[str, str] = {}
    for result in deployment.path_validation_results:
        store = result.trust_store
        try:
            again = store.verify_certificate_chain(pems, subject, validation_time=moment)
        except Exception as exc:  # a malformed chain is untrusted, with the reason kept
            errors[store.name] = str(exc)
            continue
        if again.was_validation_successful:
            return store.name, None
        errors[store.name] = str(again.validation_error)
    # the ca_bundle's verdict explains internal PKI best; otherwise Mozilla's
    error = (
        errors.get("Supplied CA file") or errors.get("Mozilla") or next(iter(errors.values()), "")
    )
    return None, _plain(error)


def _plain(error: str) -> str:
    if "candidates exhausted" in error:
        return "no path to a trusted root (unknown issuer or missing intermediate)"
    return error.removeprefix("validation failed: ").split(" (encountered processing")[0]


def _a_name_of(cert: x509.Certificate) -> x509.DNSName | x509.IPAddress | None:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    for name in san:
        if isinstance(name, x509.DNSName):
            return x509.DNSName(name.value.removeprefix("*."))
        if isinstance(name, x509.IPAddress):
            return name
    return None


def certificate(cert: x509.Certificate) -> Certificate:
    key = cert.public_key()
    curve = None
    if isinstance(key, rsa.RSAPublicKey):
        key_type, bits = "RSA", key.key_size
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key_type, bits, curve = "EC", key.curve.key_size, key.curve.name
    elif isinstance(key, dsa.DSAPublicKey):
        key_type, bits = "DSA", key.key_size
    else:
        key_type = type(key).__name__.removeprefix("_").removesuffix("PublicKey")
        bits = 256 if "25519" in key_type else 456 if "448" in key_type else 0
    dns: list[str] = []
    ips: list[str] = []
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns = [str(n) for n in san.get_values_for_type(x509.DNSName)]
        ips = [str(n) for n in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        pass
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    try:
        hash_name = cert.signature_hash_algorithm.name if cert.signature_hash_algorithm else None
    except Exception:  # an algorithm cryptography cannot name (MD2, ...) is weak anyway
        hash_name = "unknown"
    return Certificate(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        self_signed=cert.subject == cert.issuer,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        key_type=key_type,
        key_bits=bits,
        curve=curve,
        signature_algorithm=getattr(cert.signature_algorithm_oid, "_name", "unknown"),
        signature_hash=hash_name,
        dns_names=tuple(dns),
        ip_addresses=tuple(ips),
        common_name=str(cns[0].value) if cns else None,
        fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
        key_sha256=hashlib.sha256(
            key.public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        ).hexdigest(),
    )
