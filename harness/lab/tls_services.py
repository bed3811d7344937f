"""TLS contexts of the lab's strong and legacy HTTPS servers."""

from __future__ import annotations

import ssl
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from harness.lab import SECURE_HOST
from harness.lab.pki import make_ca, make_leaf


def make_certs(lab_dir: Path) -> dict[str, Path]:
    ca = make_ca(lab_dir)
    secure = make_leaf(
        lab_dir / "secure.pem",
        ["secure.lab.test", SECURE_HOST],
        issuer=ca,
        key=ec.generate_private_key(ec.SECP256R1()),
        days_valid=(-1, 90),
    )
    # every weakness at once: self-signed, RSA-1024, SHA-1, expired a month ago
    legacy = make_leaf(
        lab_dir / "legacy.pem",
        ["legacy.lab.test"],
        issuer=None,
        key=rsa.generate_private_key(public_exponent=65537, key_size=1024),  # noqa: S505
        days_valid=(-400, -30),
        digest=hashes.SHA1(),  # noqa: S303 - a deliberate weakness of the demo lab
    )
    return {"secure": secure, "legacy": legacy}


def secure_context(cert: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("ECDHE+AESGCM:ECDHE+CHACHA20")
    ctx.set_ecdh_curve("prime256v1")
    ctx.load_cert_chain(cert, cert.with_suffix(".key"))
    return ctx


def legacy_context(cert: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.set_ciphers("ALL:@SECLEVEL=0")  # SECLEVEL 0 lets OpenSSL 3 offer TLS 1.0 and weak suites
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, cert.with_suffix(".key"))
    return ctx
