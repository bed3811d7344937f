"""TLS contexts of the lab's strong and legacy HTTPS servers."""

from __future__ import annotations

import ssl
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dh, ec, rsa

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


# RFC 2409 group 2 (1024-bit MODP): a well-known weak DH group, so the lab needs no slow generation
_MODP_1024 = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A0879"
    "8E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B"
    "0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF",
    16,
)


def legacy_context(cert: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    # SECLEVEL 0 lets OpenSSL 3 offer TLS 1.0, NULL, anonymous and static-RSA suites
    ctx.set_ciphers("ALL:eNULL:@SECLEVEL=0")
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    dh_file = cert.with_name("dh1024.pem")
    dh_file.write_bytes(
        dh.DHParameterNumbers(_MODP_1024, 2)
        .parameters()
        .parameter_bytes(serialization.Encoding.PEM, serialization.ParameterFormat.PKCS3)
    )
    ctx.load_dh_params(str(dh_file))  # DHE with a 1024-bit group: Logjam-era weak
    ctx.load_cert_chain(cert, cert.with_suffix(".key"))
    return ctx
