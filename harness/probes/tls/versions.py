"""Which protocol versions an endpoint accepts: one handshake per version before the suite scans.

sslyze's cipher-suite scan of a version makes one handshake per suite it knows (121 each for
SSL 3.0, TLS 1.0 and TLS 1.1, 158 for TLS 1.2), even when the server refuses the version
outright. Here one ClientHello per version offers every one of those suites at once, with the
same nassl clients sslyze uses (its legacy OpenSSL for SSL 2.0 to TLS 1.1 and the legacy-only
TLS 1.2 suites): a server that accepts any one of them accepts that hello, so a clean refusal
of it settles the version as refused, with that handshake as the evidence.

Only a clean refusal counts (a protocol_version or handshake_failure alert, "wrong version
number", no shared cipher). A timeout, a reset, or any other error could be a server that
chokes on a long ClientHello (some F5 devices time out on one), so the version stays
`UNSETTLED` and gets sslyze's full per-suite scan, as before.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from operator import attrgetter

from nassl.ssl_client import ClientCertificateRequested
from sslyze.connection_helpers.tls_connection import NoCiphersAvailableBugInSSlyze
from sslyze.errors import ServerRejectedTlsHandshake, ServerTlsConfigurationNotSupported
from sslyze.plugins.openssl_cipher_suites.cipher_suites import CipherSuitesRepository
from sslyze.plugins.openssl_cipher_suites.implementation import CipherSuitesScanResult
from sslyze.server_connectivity import ServerConnectivityInfo, TlsVersionEnum

from harness.probes.tls.sslyze_adapter import (
    CipherSuiteAcceptedByServer,
    CipherSuiteRejectedByServer,
    requires_legacy_openssl,
    set_cipher_suites,
)

# protocol names as in tls.model.PROTOCOLS
VERSIONS = {
    "SSLv2": TlsVersionEnum.SSL_2_0,
    "SSLv3": TlsVersionEnum.SSL_3_0,
    "TLS 1.0": TlsVersionEnum.TLS_1_0,
    "TLS 1.1": TlsVersionEnum.TLS_1_1,
    "TLS 1.2": TlsVersionEnum.TLS_1_2,
    "TLS 1.3": TlsVersionEnum.TLS_1_3,
}
# sslyze's wording (connection_helpers/tls_connection.py) of refusals that mean "not this
# version / none of these suites", never "your hello was too long"
CLEAN_REFUSALS = frozenset(
    {
        "TLS alert: protocol version ",
        "TLS error: wrong version number",
        "TLS error: wrong SSL version",
        "TLS alert: handshake failure",
        "TLS error: no cipher match",
        "TLS error: peer error no cipher",
        "TLS error: no ciphers list",
        "TLS error: insufficient security",
    }
)


class Answer(enum.Enum):
    ACCEPTED = "accepted"
    REFUSED = "refused"
    UNSETTLED = "unsettled"  # scan every suite of it, as sslyze alone would


@dataclass(frozen=True)
class VersionCheck:
    protocol: str  # one of VERSIONS
    answer: Answer
    evidence: str  # what the handshake(s) showed, for the report


def _suite_groups(version: TlsVersionEnum) -> list[tuple[bool, list[str]]]:
    """(use legacy OpenSSL, OpenSSL suite names): the split sslyze makes per suite."""
    names = sorted(s.openssl_name for s in CipherSuitesRepository.get_all_cipher_suites(version))
    if version == TlsVersionEnum.TLS_1_3:
        return [(False, names)]
    if version != TlsVersionEnum.TLS_1_2:
        return [(True, names)]
    legacy = [n for n in names if requires_legacy_openssl(n)]
    modern = [n for n in names if n not in legacy]
    return [(g, n) for g, n in ((True, legacy), (False, modern)) if n]


def _hello(
    info: ServerConnectivityInfo, version: TlsVersionEnum, legacy: bool, suites: list[str]
) -> tuple[Answer, str]:
    connection = info.get_preconfigured_tls_connection(
        override_tls_version=version, should_use_legacy_openssl=legacy
    )
    set_cipher_suites(version, suites, connection.ssl_client)
    offered = f"a ClientHello offering {len(suites)} suites"
    try:
        connection.connect()
        chosen = connection.ssl_client.get_current_cipher_name()
        return Answer.ACCEPTED, f"{offered} was accepted with {chosen}"
    except (ServerTlsConfigurationNotSupported, ClientCertificateRequested) as exc:
        # sslyze counts both as the suite being accepted (the server did pick one)
        return Answer.ACCEPTED, f"{offered} was answered ({type(exc).__name__})"
    except ServerRejectedTlsHandshake as exc:
        if exc.error_message in CLEAN_REFUSALS:
            return Answer.REFUSED, f"{offered} was refused: {exc.error_message.strip()}"
        return Answer.UNSETTLED, f"{offered} failed ({exc.error_message.strip()})"
    except NoCiphersAvailableBugInSSlyze:
        return Answer.REFUSED, f"nassl cannot offer these {len(suites)} suites with this version"
    except Exception as exc:  # a timeout, a reset, an unknown error: let the full scan decide
        return Answer.UNSETTLED, f"{offered} failed ({type(exc).__name__}: {exc})"
    finally:
        connection.close()


def check_version(info: ServerConnectivityInfo, protocol: str) -> VersionCheck:
    """One handshake (two for TLS 1.2, whose suites span both OpenSSLs) offering every suite."""
    version = VERSIONS[protocol]
    notes = []
    unsettled = False
    for legacy, suites in _suite_groups(version):
        answer, evidence = _hello(info, version, legacy, suites)
        notes.append(evidence)
        if answer is Answer.ACCEPTED:
            return VersionCheck(protocol, answer, "; ".join(notes))
        unsettled |= answer is Answer.UNSETTLED
    return VersionCheck(
        protocol, Answer.UNSETTLED if unsettled else Answer.REFUSED, "; ".join(notes)
    )


def enumerate_suites(info: ServerConnectivityInfo, protocol: str) -> CipherSuitesScanResult | None:
    """The suites a server accepts for a version it speaks, one handshake per accepted suite.

    Offer every suite; the server picks one it accepts; offer the rest again; and so on until
    the server cleanly refuses what is left (nmap's ssl-enum-ciphers and testssl.sh work this
    way). That is one handshake per accepted suite plus one, where sslyze's scan makes one per
    suite it knows (158 for TLS 1.2). The chosen suite's ephemeral key comes from the handshake
    that chose it, as in sslyze's own. Anything unclean returns None, and sslyze's per-suite
    scan of the version runs instead.
    """
    version = VERSIONS[protocol]
    accepted: list[CipherSuiteAcceptedByServer] = []
    not_chosen: list[CipherSuiteRejectedByServer] = []
    for legacy, suites in _suite_groups(version):
        remaining = list(suites)
        while remaining:
            connection = info.get_preconfigured_tls_connection(
                override_tls_version=version, should_use_legacy_openssl=legacy
            )
            try:
                set_cipher_suites(version, remaining, connection.ssl_client)
                connection.connect()
                chosen = connection.ssl_client.get_current_cipher_name()
                key = connection.ssl_client.get_ephemeral_key()
            except ServerRejectedTlsHandshake as exc:
                if exc.error_message not in CLEAN_REFUSALS:
                    return None
                reason = f"not chosen from a ClientHello offering it: {exc.error_message.strip()}"
                break
            except NoCiphersAvailableBugInSSlyze:
                # nassl cannot offer the rest with this version; sslyze's scan skips them too
                remaining, reason = [], ""
                break
            except Exception:
                return None
            finally:
                connection.close()
            if chosen not in remaining:
                return None
            remaining.remove(chosen)
            suite = CipherSuitesRepository.get_cipher_suite_with_openssl_name(version, chosen)
            accepted.append(CipherSuiteAcceptedByServer(cipher_suite=suite, ephemeral_key=key))
        for name in remaining:
            suite = CipherSuitesRepository.get_cipher_suite_with_openssl_name(version, name)
            not_chosen.append(CipherSuiteRejectedByServer(cipher_suite=suite, error_message=reason))
    # sslyze's order (openssl_cipher_suites/implementation.py)
    accepted.sort(key=attrgetter("cipher_suite.name"), reverse=True)
    not_chosen.sort(key=attrgetter("cipher_suite.name"), reverse=True)
    return CipherSuitesScanResult(
        tls_version_used=version,
        accepted_cipher_suites=accepted,
        rejected_cipher_suites=not_chosen,
    )
