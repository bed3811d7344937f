"""The EC groups an endpoint accepts for key exchange, one handshake per accepted group.

sslyze's elliptic_curves scan makes one handshake per group its client knows (30), each
offering that group alone. Here the client offers every group not yet seen; the server picks
one it accepts (its ephemeral key says which); that group is set aside and the rest offered
again, until the server cleanly refuses what is left. Same client, same ECDHE suites and same
TLS version as sslyze's scan (elliptic_curves_plugin.py). Only for servers that speak TLS 1.3
(see below); anything unclean returns None, and sslyze's own scan runs instead.
"""

from __future__ import annotations

from nassl.ephemeral_key_info import OpenSslEcNidEnum
from nassl.ssl_client import SslClient
from sslyze.errors import ServerRejectedTlsHandshake
from sslyze.plugins.elliptic_curves_plugin import EllipticCurve, SupportedEllipticCurvesScanResult
from sslyze.server_connectivity import (
    ServerConnectivityInfo,
    TlsVersionEnum,
    enable_ecdh_cipher_suites,
)

from harness.probes.tls.sslyze_adapter import curve_name
from harness.probes.tls.versions import CLEAN_REFUSALS


def _curve(nid: OpenSslEcNidEnum) -> EllipticCurve:
    return EllipticCurve(name=curve_name(nid), openssl_nid=nid.value)


def enumerate_groups(info: ServerConnectivityInfo) -> SupportedEllipticCurvesScanResult | None:
    probing = info.tls_probing_result
    if not probing.supports_ecdh_key_exchange:
        return None  # sslyze's scan says so in its own words
    version = probing.highest_tls_version_supported
    if version != TlsVersionEnum.TLS_1_3:
        # Up to TLS 1.2 the groups offered also say which ECDSA certificate curves the client
        # can verify (RFC 4492), so a group can be chosen beside P-256 yet refused alone (as
        # measured on nginx with a P-256 certificate): only sslyze's one-by-one answer is the same.
        return None
    remaining = list(OpenSslEcNidEnum.get_supported_by_ssl_client())
    accepted: list[OpenSslEcNidEnum] = []
    while remaining:
        connection = info.get_preconfigured_tls_connection(
            override_tls_version=version, should_use_legacy_openssl=False
        )
        try:
            if not isinstance(connection.ssl_client, SslClient):
                return None
            enable_ecdh_cipher_suites(version, connection.ssl_client)
            connection.ssl_client.set_groups(remaining)
            connection.connect()
            key = connection.ssl_client.get_ephemeral_key()
        except ServerRejectedTlsHandshake as exc:
            if exc.error_message in CLEAN_REFUSALS:
                break
            return None
        except Exception:  # a timeout, a client-side error: sslyze's per-group scan decides
            return None
        finally:
            connection.close()
        chosen = getattr(key, "curve", None)  # the group's NID, as a plain int
        if chosen not in remaining:
            return None
        nid = OpenSslEcNidEnum(chosen)
        remaining.remove(nid)
        accepted.append(nid)
    return SupportedEllipticCurvesScanResult(
        supports_ecdh_key_exchange=True,
        supported_curves=[_curve(nid) for nid in accepted],
        rejected_curves=[_curve(nid) for nid in remaining],
    )
