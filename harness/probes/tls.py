"""The TLS probe: sslyze over every declared TLS endpoint, on every address of its name.

Each endpoint address is scanned in its own worker (max_concurrent_hosts at a time), inside its
host's connection budget (tls_connections_per_host connections, shared with the other probe
kinds: see hostgate). Each endpoint gets a `TlsScan`, or a `ProbeFailure` when sslyze
could not reach it or it never completed a TLS handshake: fail closed, never a pass.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sslyze.connection_helpers.opportunistic_tls_helpers import ProtocolWithOpportunisticTlsEnum
from sslyze.errors import (
    ConnectionToServerTimedOut,
    ServerHostnameCouldNotBeResolved,
    ServerRejectedConnection,
    TlsHandshakeTimedOut,
)
from sslyze.json.json_output import ServerScanResultAsJson
from sslyze.plugins.certificate_info.implementation import CertificateInfoExtraArgument
from sslyze.plugins.scan_commands import ScanCommand
from sslyze.scanner.models import (
    ScanCommandsExtraArguments,
    ServerScanRequest,
    ServerScanResult,
    ServerScanStatusEnum,
)
from sslyze.scanner.scan_command_attempt import ScanCommandAttemptStatusEnum
from sslyze.scanner.scanner import Scanner
from sslyze.server_setting import ServerNetworkConfiguration, ServerNetworkLocation

from harness.errors import FailureKind, ProbeFailure
from harness.inventory import TlsEndpoint
from harness.probes import Job, ProbeContext
from harness.probes.hostgate import GATE
from harness.probes.tls_answered import silent_rejections, with_answered_vulns
from harness.probes.tls_certs import deployments
from harness.probes.tls_fallback import with_fallback_scsv
from harness.probes.tls_model import Hsts, ProtocolSupport, Suite, TlsScan
from harness.probes.tls_preflight import preflight
from harness.probes.tls_trust import evidence as trust_evidence

NETWORK_RETRIES = 2  # sslyze retries a timed-out connection; more would stretch fail-closed time
_SUITE_COMMANDS = {
    "SSLv2": "ssl_2_0_cipher_suites",
    "SSLv3": "ssl_3_0_cipher_suites",
    "TLS 1.0": "tls_1_0_cipher_suites",
    "TLS 1.1": "tls_1_1_cipher_suites",
    "TLS 1.2": "tls_1_2_cipher_suites",
    "TLS 1.3": "tls_1_3_cipher_suites",
}
# everything sslyze can scan but early data and session resumption, which no check judges;
# fallback SCSV, Heartbleed and CCS injection are measured after the scan, so that silence is
# never taken for a verdict (harness.probes.tls_fallback, harness.probes.tls_answered)
_COMMANDS = {ScanCommand(c) for c in _SUITE_COMMANDS.values()} | {
    ScanCommand.CERTIFICATE_INFO,
    ScanCommand.TLS_COMPRESSION,
    ScanCommand.ROBOT,
    ScanCommand.SESSION_RENEGOTIATION,
    ScanCommand.ELLIPTIC_CURVES,
    ScanCommand.TLS_EXTENDED_MASTER_SECRET,
}


class TlsProbe:
    name = "tls"

    def run(self, jobs: list[Job], ctx: ProbeContext) -> None:
        if not jobs:
            return
        base = ctx.inventory.path.parent if ctx.inventory.path else Path.cwd()
        settings = jobs[0].settings  # concurrency limits are run-wide (defaults only)
        built: list[tuple[Job, ServerScanRequest]] = []
        for job in jobs:
            request = _request(job, base)
            if isinstance(request, ProbeFailure):
                ctx.publish(job.key, request)
            else:
                built.append((job, request))
        if not built:
            return
        ctx.progress(
            f"sslyze: scanning {len(built)} TLS endpoint(s), "
            f"{settings.max_concurrent_hosts} at a time, "
            f"{settings.tls_connections_per_host} connections per host"
        )
        started = time.monotonic()
        counts = {"scanned": 0, "broken": 0}
        lock = threading.Lock()

        def one(job: Job, request: ServerScanRequest) -> None:
            outcome = self._endpoint(job, request, ctx)
            with lock:
                counts["scanned" if isinstance(outcome, TlsScan) else "broken"] += 1
                done = counts["scanned"] + counts["broken"]
            ctx.publish(job.key, outcome)
            state = (
                "scanned" if isinstance(outcome, TlsScan) else f"could not scan ({outcome.kind})"
            )
            ctx.progress(
                f"{job.key} {state} ({done}/{len(built)}, {time.monotonic() - started:.1f} s)"
            )

        # One worker per endpoint address: a silent endpoint (which fails only at its timeout)
        # holds back no one else's scan, and each scan waits only for its own host's budget.
        workers = max(1, min(settings.max_concurrent_hosts, len(built)))
        with ThreadPoolExecutor(workers, thread_name_prefix="sslyze") as pool:
            for future in [pool.submit(one, job, req) for job, req in built]:
                future.result()
        ctx.progress(
            f"sslyze: {counts['scanned']} endpoint(s) scanned, {counts['broken']} could"
            f" not be scanned, in {time.monotonic() - started:.1f} s"
        )

    def _endpoint(
        self, job: Job, request: ServerScanRequest, ctx: ProbeContext
    ) -> TlsScan | ProbeFailure:
        """Pre-check, then one sslyze scan, inside the host's connection budget."""
        settings = job.settings
        with GATE.hold(job.host, settings.tls_connections_per_host, settings.connections_per_host):
            failure = preflight(*_preflight_args(job, request))
            if failure is not None:
                return failure
            scanner = Scanner(
                per_server_concurrent_connections_limit=min(
                    settings.tls_connections_per_host, settings.connections_per_host
                ),
                concurrent_server_scans_limit=1,
            )
            scanner.queue_scans([request])
            (result,) = scanner.get_results()  # exhausted, so sslyze shuts its threads down
            outcome = _outcome(job, result, _ca_file(request))
            if isinstance(outcome, TlsScan):  # the confirmations connect too: inside the budget
                outcome = with_answered_vulns(with_fallback_scsv(outcome, result), result)
        if isinstance(outcome, TlsScan):
            ctx.attach(
                job.key,
                f"sslyze scan of {job.key}",
                ServerScanResultAsJson.model_validate(result).model_dump_json(indent=1),
                "application/json",
            )
            if outcome.certificates:
                ctx.attach(
                    job.key,
                    f"certificate trust of {job.key}",
                    trust_evidence(outcome.certificates),
                    "text/plain",
                )
        return outcome


def _preflight_args(job: Job, request: ServerScanRequest) -> tuple[str, int, str, float, str, bool]:
    loc, config = request.server_location, request.network_configuration
    return (
        str(loc.ip_address),
        loc.port,
        config.tls_server_name_indication,
        job.settings.timeout,
        job.where,
        config.tls_opportunistic_encryption is not None,
    )


def _request(job: Job, base: Path) -> ServerScanRequest | ProbeFailure:
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
    commands = set(_COMMANDS)
    if ep.is_https:
        commands.add(ScanCommand.HTTP_HEADERS)
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


def _outcome(job: Job, result: ServerScanResult, ca_file: Path | None) -> TlsScan | ProbeFailure:
    if result.scan_status != ServerScanStatusEnum.COMPLETED or result.scan_result is None:
        return _connectivity_failure(job, result)
    ep = job.endpoint
    assert isinstance(ep, TlsEndpoint)
    attempts = result.scan_result
    errors: list[tuple[str, str]] = []

    def get(command: str) -> Any:
        attempt = getattr(attempts, command)
        if attempt.status == ScanCommandAttemptStatusEnum.COMPLETED:
            return attempt.result
        reason = attempt.error_reason.value if attempt.error_reason else "not run"
        trace = attempt.error_trace
        detail = f": {trace.exc_type.__name__}: {trace}" if trace is not None else ""
        errors.append((command, f"sslyze's {command} scan failed ({reason}{detail})"))
        return None

    protocols = []
    for name, command in _SUITE_COMMANDS.items():
        suites_result = get(command)
        silent = None if suites_result is None else silent_rejections(name, suites_result)
        if silent is not None:
            errors.append((command, silent))
        if suites_result is not None:
            protocols.append(
                ProtocolSupport(
                    name,
                    suites_result.is_tls_version_supported,
                    tuple(_suite(s) for s in suites_result.accepted_cipher_suites),
                )
            )
    cert_info = get("certificate_info")
    curves = get("elliptic_curves")
    reneg = get("session_renegotiation")
    headers = get("http_headers") if ep.is_https else None
    hsts = None
    if headers is not None:
        if headers.http_error_trace is not None:
            errors.append(("http_headers", "the endpoint did not answer an HTTP request"))
        else:
            header = headers.strict_transport_security_header
            hsts = Hsts(header is not None, header.max_age if header is not None else None)

    def flag(command: str, attr: str) -> bool | None:
        value = get(command)
        return None if value is None else bool(getattr(value, attr))

    robot = get("robot")
    return TlsScan(
        host=job.target.host,
        port=ep.port,
        server_name=ep.server_name or job.target.host,
        starttls=ep.starttls,
        https=ep.is_https,
        scanned_at=dt.datetime.now(dt.UTC),
        protocols=tuple(protocols),
        curves=None if curves is None else tuple(c.name for c in (curves.supported_curves or ())),
        certificates=None if cert_info is None else deployments(cert_info, ca_file),
        heartbleed=None,  # measured after the scan, by with_answered_vulns
        ccs_injection=None,
        robot=None if robot is None else robot.robot_result.value,
        secure_renegotiation=None if reneg is None else reneg.supports_secure_renegotiation,
        client_renegotiation=None
        if reneg is None
        else reneg.client_renegotiations_success_count > 0,
        compression=flag("tls_compression", "supports_compression"),
        fallback_scsv=None,  # measured after the scan, by with_fallback_scsv
        extended_master_secret=flag("tls_extended_master_secret", "supports_ems_extension"),
        hsts=hsts,
        errors=tuple(errors),
    )


def _ca_file(request: ServerScanRequest) -> Path | None:
    extra = request.scan_commands_extra_arguments.certificate_info
    return None if extra is None else extra.custom_ca_file


def _suite(accepted: Any) -> Suite:
    cs = accepted.cipher_suite
    key = accepted.ephemeral_key
    group = group_bits = None
    if key is not None:
        curve = getattr(key, "curve_name", None)
        group = curve or "DH"
        # OpenSSL reports X25519/X448 as 253/448 bits of secret; the field sizes are 255/448
        group_bits = 255 if curve == "X25519" else int(key.size)
    return Suite(cs.name, int(cs.key_size), bool(cs.is_anonymous), group, group_bits)


def _connectivity_failure(job: Job, result: ServerScanResult) -> ProbeFailure:
    trace = result.connectivity_error_trace
    if trace is None:
        return ProbeFailure(FailureKind.ERROR, job.where, "sslyze did not complete the scan")
    exc_type = trace.exc_type
    message = str(trace).strip() or (exc_type.__name__ if exc_type else "unknown error")
    timeout = job.settings.timeout
    if exc_type is not None and issubclass(exc_type, TlsHandshakeTimedOut):
        return ProbeFailure(
            FailureKind.TIMEOUT,
            job.where,
            f"the port accepts TCP connections but no TLS handshake completed within {timeout:g} s "
            f"(not a TLS service, or a STARTTLS endpoint declared without starttls): {message}",
        )
    if exc_type is not None and issubclass(exc_type, ConnectionToServerTimedOut):
        return ProbeFailure(
            FailureKind.TIMEOUT, job.where, f"no answer within {timeout:g} s: {message}"
        )
    if exc_type is not None and issubclass(exc_type, ServerRejectedConnection):
        return ProbeFailure(FailureKind.REFUSED, job.where, f"connection refused: {message}")
    return ProbeFailure(FailureKind.PROTOCOL, job.where, f"TLS connection failed: {message}")
