"""Every private sslyze and nassl name the TLS probe relies on, and nothing else.

sslyze and nassl are pinned in pyproject.toml, to the releases in CHECKED_AGAINST below, because
private names changed within sslyze 6.x.
The probe reaches past their public API where that API cannot do what it needs: run one
endpoint's scan jobs on its own pool, route every socket through its pace, send one hello that
offers many suites, and see whether the server answered a Heartbleed or CCS test at all. Those
private names are used here only, behind small typed functions; the rest of harness/ imports
this module and sslyze's public API (tests/test_layout.py enforces it).

tests/test_sslyze_contract.py checks that each private name still exists with the shape used
here; after an upgrade, that test says which one changed, and this module is the one to adapt.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast
from uuid import UUID

from nassl import _nassl
from nassl.ephemeral_key_info import _OPENSSL_NID_TO_SECG_ANSI_X9_62, OpenSslEcNidEnum
from nassl.ssl_client import BaseSslClient
from sslyze.connection_helpers import tls_connection
from sslyze.plugins import heartbleed_plugin, openssl_ccs_injection_plugin
from sslyze.plugins.openssl_cipher_suites._test_cipher_suite import (
    CipherSuiteAcceptedByServer,
    CipherSuiteRejectedByServer,
    _set_cipher_suite_string,
)
from sslyze.plugins.openssl_cipher_suites._tls12_workaround import (
    WorkaroundForTls12ForCipherSuites,
)
from sslyze.plugins.plugin_base import ScanJob
from sslyze.plugins.scan_commands import ScanCommand
from sslyze.scanner._jobs_worker_thread import CompletedScanJob
from sslyze.scanner._mass_scanner import (
    _generate_result_for_completed_server_scan,
    _generate_scan_jobs_for_server_scan,
    _OngoingServerScan,
)
from sslyze.scanner.models import ServerScanRequest, ServerScanResult
from sslyze.scanner.scan_command_attempt import ScanCommandAttempt
from sslyze.server_connectivity import ServerTlsProbingResult, TlsVersionEnum
from sslyze.server_setting import ServerNetworkLocation

# the typed functions below, and classes sslyze defines in private modules, re-exported as they
# are (sslyze's package exports the cipher suite results too, without saying so to mypy)
__all__ = [
    "CCS_INJECTION",
    "CHECKED_AGAINST",
    "HEARTBLEED",
    "SSLYZE_DIRECT_OPENER",
    "CipherSuiteAcceptedByServer",
    "CipherSuiteRejectedByServer",
    "CompletedScanJob",
    "DirectOpener",
    "HijackedHandshake",
    "OpenSSLError",
    "QueuingErrors",
    "ScanJobs",
    "completed_job",
    "curve_name",
    "direct_opener",
    "open_direct",
    "replace_direct_opener",
    "requires_legacy_openssl",
    "scan_jobs",
    "scan_result",
    "set_cipher_suites",
    "wrap_client_socket",
]

T = TypeVar("T")

# the releases this module was written and checked against; pyproject.toml pins the same, and
# tests/test_sslyze_contract.py fails until both move together (and the contract passes)
CHECKED_AGAINST = {"sslyze": "6.3.1", "nassl": "5.4.0"}

# --- nassl ---

# the error nassl's clients (modern and legacy) raise for what OpenSSL said, alerts included
OpenSSLError: type[Exception] = _nassl.OpenSSLError


def curve_name(nid: OpenSslEcNidEnum) -> str:
    """The group's SECG / ANSI X9.62 name, as nassl's ephemeral key info names it."""
    return _OPENSSL_NID_TO_SECG_ANSI_X9_62.get(nid, f"unknown-curve-with-openssl-id-{nid.value}")


def wrap_client_socket(client: BaseSslClient, wrap: Callable[[socket.socket], T]) -> T:
    """Put wrap(sock) in place of the socket a nassl client reads and writes; returns it.

    nassl's public setter refuses a client that already has a socket, and sslyze's hijacked
    handshakes read the client's `_sock` directly."""
    if client._sock is None:
        raise OSError("the nassl client has no socket yet")
    wrapped = wrap(client._sock)
    client._sock = cast(socket.socket, wrapped)  # a stand-in that forwards to the socket
    return wrapped


# --- sslyze's scanner: one endpoint's jobs, folded into the result the Scanner returns ---

ScanJobs = dict[ScanCommand, list[ScanJob]]
QueuingErrors = dict[ScanCommand, ScanCommandAttempt[Any]]


def scan_jobs(
    request: ServerScanRequest, probing: ServerTlsProbingResult
) -> tuple[ScanJobs, QueuingErrors]:
    """The jobs of the request's scan commands, and the commands that failed to queue."""
    return _generate_scan_jobs_for_server_scan(request, probing)


def completed_job(
    request: UUID, command: ScanCommand, value: Any, error: Exception | None
) -> CompletedScanJob:
    """One job's outcome, as sslyze's worker threads record it (the exception kept)."""
    return CompletedScanJob(request, command, value, error)


def scan_result(
    request: ServerScanRequest,
    probing: ServerTlsProbingResult,
    queuing_errors: QueuingErrors,
    done: list[CompletedScanJob],
) -> ServerScanResult:
    """The completed jobs folded into sslyze's ServerScanResult, exactly as its Scanner does."""
    ongoing = _OngoingServerScan(
        server_scan_request=request,
        server_connectivity_result=probing,
        assigned_queue=None,  # type: ignore[arg-type]  # only the Scanner's queues use it
        scan_command_errors_during_queuing=queuing_errors,
        queued_scan_jobs_count=len(done),
        completed_scan_jobs=done,
    )
    return _generate_result_for_completed_server_scan(ongoing)


# --- sslyze's socket opener ---

DirectOpener = Callable[[ServerNetworkLocation, int], socket.socket]

# sslyze's own opener, as loaded (before any replace_direct_opener)
SSLYZE_DIRECT_OPENER: DirectOpener = tls_connection._open_socket_for_direct_connection


def replace_direct_opener(opener: DirectOpener) -> None:
    """Make every direct (non-proxy) connection sslyze opens go through `opener`: its
    `_open_socket` looks the opener up by name at each call."""
    tls_connection._open_socket_for_direct_connection = opener  # type: ignore[assignment]


def direct_opener() -> DirectOpener:
    """The opener sslyze calls now (its own, or the one put in place)."""
    opener: DirectOpener = tls_connection._open_socket_for_direct_connection
    return opener


def open_direct(location: ServerNetworkLocation, network_timeout: int) -> socket.socket:
    """A TCP connection as sslyze opens one now, so whatever wraps its opener wraps this too."""
    return direct_opener()(location, network_timeout)


# --- sslyze's cipher suite scan ---


def set_cipher_suites(version: TlsVersionEnum, suites: list[str], client: BaseSslClient) -> None:
    """Offer exactly these OpenSSL suite names at `version` (TLS 1.3 has its own setter)."""
    _set_cipher_suite_string(version, ":".join(suites), client)


def requires_legacy_openssl(openssl_name: str) -> bool:
    """Whether sslyze tests this TLS 1.2 suite with nassl's legacy OpenSSL."""
    return WorkaroundForTls12ForCipherSuites.requires_legacy_openssl(openssl_name)


# --- sslyze's Heartbleed and CCS injection tests ---


@dataclass(frozen=True)
class HijackedHandshake:
    """A handshake sslyze swaps into a nassl client (`client.do_handshake`) to test a bug; it
    ends by raising `vulnerable` or `not_vulnerable`."""

    handshake: Callable[[BaseSslClient], None]
    vulnerable: type[Exception]
    not_vulnerable: type[Exception]


HEARTBLEED = HijackedHandshake(
    heartbleed_plugin._do_handshake_with_heartbleed,
    heartbleed_plugin._VulnerableToHeartbleed,
    heartbleed_plugin._NotVulnerableToHeartbleed,
)
CCS_INJECTION = HijackedHandshake(
    openssl_ccs_injection_plugin._do_handshake_with_ccs_injection,
    openssl_ccs_injection_plugin._VulnerableToCcsInjection,
    openssl_ccs_injection_plugin._NotVulnerableToCcsInjection,
)
