"""The sslyze request of one TLS endpoint address: where to connect, how (SNI, STARTTLS,
timeout, retries), which scan commands, and the private CA to judge trust against."""

from __future__ import annotations

import math
from pathlib import Path

from sslyze.connection_helpers.opportunistic_tls_helpers import ProtocolWithOpportunisticTlsEnum
from sslyze.errors import ServerHostnameCouldNotBeResolved
from sslyze.plugins.certificate_info.implementation import CertificateInfoExtraArgument
from sslyze.plugins.scan_commands import ScanCommand
from sslyze.scanner.models import ScanCommandsExtraArguments, ServerScanRequest
from sslyze.server_setting import ServerNetworkConfiguration, ServerNetworkLocation

from harness.errors import FailureKind, ProbeFailure
from harness.inventory import TlsEndpoint
from harness.probes import Job

NETWORK_RETRIES = 2  # sslyze retries a timed-out connection; more would stretch fail-closed time
SUITE_COMMANDS = {
    "SSLv2": "ssl_2_0_cipher_suites",
    "SSLv3": "ssl_3_0_cipher_suites",
    "TLS 1.0": "tls_1_0_cipher_suites",
    "TLS 1.1": "tls_1_1_cipher_suites",
    "TLS 1.2": "tls_1_2_cipher_suites",
    "TLS 1.3": "tls_1_3_cipher_suites",
}
# everything sslyze can scan but early data and session resumption, which no check judges;
# fallback SCSV, Heartbleed and CCS injection are measured after the scan, so that silence is
# never taken for a verdict (harness.probes.tls.fallback, harness.probes.tls.answered)
COMMANDS = {ScanCommand(c) for c in SUITE_COMMANDS.values()} | {
    ScanCommand.CERTIFICATE_INFO,
    ScanCommand.TLS_COMPRESSION,
    ScanCommand.ROBOT,
    ScanCommand.SESSION_RENEGOTIATION,
    ScanCommand.ELLIPTIC_CURVES,
    ScanCommand.TLS_EXTENDED_MASTER_SECRET,
}


def scan_commands(https: bool) -> set[ScanCommand]:
    """The sslyze scan commands queued for an endpoint (HTTP headers on HTTPS only)."""
    return COMMANDS | {ScanCommand.HTTP_HEADERS} if https else set(COMMANDS)


def scan_request(job: Job, base: Path) -> ServerScanRequest | ProbeFailure:
    """Build the sslyze request; DNS and a bad ca_bundle end here as typed failures."""
    ep = job.endpoint
    assert isinstance(ep, TlsEndpoint)
    host = job.target.host
    try:
        # with the address given, sslyze connects there and does not resolve the name again
        location = ServerNetworkLocation(hostname=host, port=ep.port, ip_address=job.address)
    except ServerHostnameCouldNotBeResolved:
        return ProbeFailure(FailureKind.DNS, job.where, f"the host name {host} does not resolve")
    starttls = ProtocolWithOpportunisticTlsEnum[ep.starttls.upper()] if ep.starttls else None
    config = ServerNetworkConfiguration(
        tls_server_name_indication=ep.server_name or host,
        tls_opportunistic_encryption=starttls,
        network_timeout=max(1, math.ceil(job.settings.timeout)),
        network_max_retries=NETWORK_RETRIES,
    )
    commands = scan_commands(ep.is_https)
    extra = ScanCommandsExtraArguments()
    if job.settings.ca_bundle is not None:
        ca = job.settings.ca_bundle
        ca = ca if ca.is_absolute() else base / ca
        try:
            extra = ScanCommandsExtraArguments(
                certificate_info=CertificateInfoExtraArgument(custom_ca_file=ca)
            )
        except ValueError:
            return ProbeFailure(FailureKind.ERROR, job.where, f"cannot read the ca_bundle {ca}")
    request = ServerScanRequest(
        server_location=location,
        network_configuration=config,
        scan_commands=commands,
        scan_commands_extra_arguments=extra,
    )
    return request


def ca_file(request: ServerScanRequest) -> Path | None:
    extra = request.scan_commands_extra_arguments.certificate_info
    return None if extra is None else extra.custom_ca_file


def preflight_args(job: Job, request: ServerScanRequest) -> tuple[str, int, str, float, str, bool]:
    loc, config = request.server_location, request.network_configuration
    return (
        str(loc.ip_address),
        loc.port,
        config.tls_server_name_indication,
        job.settings.timeout,
        job.where,
        config.tls_opportunistic_encryption is not None,
    )
