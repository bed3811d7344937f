"""Trust as standard clients judge it, and the strict profile as strict validators judge it.

sslyze validates chains with pyca/cryptography's verifier, which enforces the RFC 5280 and
CA/Browser Forum profile: a leaf without Authority Key Identifier is rejected, although OpenSSL's
default verification, curl and browsers accept it (internal PKI made with older tools often looks
like this). So the two questions are measured apart:

- trust: OpenSSL's default verification (`openssl verify`, the same library and defaults as
  `openssl s_client`, curl and Python's `ssl` before 3.13) of the served chain, against the
  system store plus the ca_bundle, for TLS server use. Dates are left out (-no_check_time):
  tls.cert.validity judges them; the name is tls.cert.hostname's business.
- strict: OpenSSL with X509_STRICT and partial chains (what Python 3.13+
  `ssl.create_default_context()` sets), pyca/cryptography's verdict from sslyze, and each
  profile defect named by reading the certificates.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import tempfile
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from harness.probes import stopping
from harness.probes.tls.model import CertDeployment, TrustCheck

OPENSSL_DEFAULT = "OpenSSL default verification"
OPENSSL_STRICT = "OpenSSL with X509_STRICT (Python 3.13+ default context)"
# clients refuse RSA keys under 2048 bits and SHA-1 signatures: browsers, and OpenSSL clients at
# Debian's and RHEL's default security level 2
CLIENT_SECURITY_LEVEL = 2
VERIFY_SECONDS = 30  # a local computation; the bound only guards against a hung binary


@cache
def _system_anchors() -> bytes:
    """The system store as Python's ssl.create_default_context() loads it (SSL_CERT_FILE too)."""
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile):
        if candidate and Path(candidate).is_file():
            return Path(candidate).read_bytes()
    return b""


def _pem(certs: list[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def openssl_verify(
    chain: list[x509.Certificate], ca_bundle: Path | None, *, strict: bool
) -> TrustCheck:
    """Verify the served chain (leaf first) with the system's OpenSSL; the error is OpenSSL's."""
    name = OPENSSL_STRICT if strict else OPENSSL_DEFAULT
    binary = shutil.which("openssl")
    if binary is None:
        return TrustCheck(name, False, "the openssl command is not installed", measured=False)
    with tempfile.TemporaryDirectory(prefix="harness-verify-") as tmp:
        d = Path(tmp)
        anchors = _system_anchors()
        if ca_bundle is not None:
            anchors += b"\n" + ca_bundle.read_bytes()
        (d / "anchors.pem").write_bytes(anchors)
        (d / "leaf.pem").write_bytes(_pem(chain[:1]))
        (d / "served.pem").write_bytes(_pem(chain[1:]) or _pem(chain[:1]))
        args = [binary, "verify", "-CAfile", "anchors.pem", "-purpose", "sslserver"]
        args += ["-auth_level", str(CLIENT_SECURITY_LEVEL)]
        args += ["-no_check_time", "-untrusted", "served.pem"]
        if strict:
            args += ["-x509_strict", "-partial_chain"]
        try:  # a child a SIGTERM ends (probes.stopping)
            code, out, err = stopping.run_child([*args, "leaf.pem"], VERIFY_SECONDS, cwd=d)
        except (OSError, subprocess.TimeoutExpired) as exc:
            # no verdict, not a distrusted chain: a false "untrusted" would be an alarm no
            # client meets
            return TrustCheck(name, False, f"openssl verify did not run: {exc}", measured=False)
    if code == 0:
        return TrustCheck(name, True)
    stdout, stderr = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    lines = [ln for ln in (stdout + stderr).splitlines() if ln.startswith("error ")]
    if not lines:  # OpenSSL names every verification error; without one it failed otherwise
        said = stderr.strip() or stdout.strip() or f"exit status {code}"
        return TrustCheck(name, False, f"openssl verify failed: {said[:300]}", measured=False)
    first = lines[0]
    # "error 20 at 0 depth lookup: unable to get local issuer certificate"
    return TrustCheck(name, False, first.split("lookup: ", 1)[-1].strip())


def strict_defects(chain: list[x509.Certificate]) -> tuple[str, ...]:
    """RFC 5280 / CA/B Forum profile defects of the served certificates, each named."""
    defects: list[str] = []
    for depth, cert in enumerate(chain):
        who = "the leaf" if depth == 0 else f"the intermediate {_cn(cert)}"
        if depth > 0 and cert.subject == cert.issuer:
            continue  # a served root is ignored by every verifier
        defects += [f"{who} {d}" for d in _defects(cert, leaf=depth == 0)]
    return tuple(defects)


def _cn(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string()


def _ext(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.Extension | None:  # type: ignore[type-arg]
    try:
        return cert.extensions.get_extension_for_class(kind)
    except x509.ExtensionNotFound:
        return None


def _defects(cert: x509.Certificate, *, leaf: bool) -> list[str]:
    found = []
    if cert.version != x509.Version.v3:
        found.append("is not an X.509 v3 certificate (RFC 5280 4.1.2.1)")
    if cert.serial_number <= 0:
        found.append(f"has a non-positive serial number {cert.serial_number} (RFC 5280 4.1.2.2)")
    elif cert.serial_number.bit_length() > 159:
        found.append("has a serial number longer than 20 octets (RFC 5280 4.1.2.2)")
    aki = _ext(cert, x509.AuthorityKeyIdentifier)
    if cert.subject != cert.issuer and aki is None:
        found.append("has no Authority Key Identifier (RFC 5280 4.2.1.1)")
    elif aki is not None and aki.critical:
        found.append("marks its Authority Key Identifier critical (RFC 5280 4.2.1.1)")
    basic = _ext(cert, x509.BasicConstraints)
    usage = _ext(cert, x509.KeyUsage)
    if leaf:
        if _ext(cert, x509.SubjectAlternativeName) is None:
            found.append("has no subjectAltName (CA/B Forum BR 7.1.2.7.12)")
        if basic is not None and basic.value.ca:
            found.append("is marked as a CA (basicConstraints cA=TRUE)")
        if usage is not None and usage.value.key_cert_sign:
            found.append("asserts keyCertSign in its keyUsage")
    else:
        if _ext(cert, x509.SubjectKeyIdentifier) is None:
            found.append("has no Subject Key Identifier (RFC 5280 4.2.1.2)")
        if basic is None or not basic.critical:
            found.append("has no critical basicConstraints (RFC 5280 4.2.1.9)")
        if usage is None or not usage.value.key_cert_sign:
            found.append("has no keyUsage with keyCertSign (RFC 5280 4.2.1.3)")
    return found


def evidence(deployments: tuple[CertDeployment, ...]) -> str:
    """A readable record of each served chain and each verifier's result, for the report."""
    lines = []
    for d in deployments:
        lines.append(f"Chain served for {d.leaf.subject}:")
        lines += [f"  [{i}] subject={c.subject} issuer={c.issuer}" for i, c in enumerate(d.chain)]
        client = TrustCheck(OPENSSL_DEFAULT, d.chain_trusted, d.trust_error)
        for check in (client, *d.strict):
            verdict = "OK" if check.ok else f"FAILED: {check.error}"
            lines.append(f"  {check.store}: {verdict}")
        lines += [f"  strict profile defect: {defect}" for defect in d.strict_defects]
    return "\n".join(lines) + "\n"
