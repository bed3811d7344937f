"""sslyze's result of one endpoint read into a `TlsScan`: the version checks and
enumerations taken in, each failed scan command kept as an error (never a verdict), and a
connectivity failure turned into a typed `ProbeFailure` that says what to do."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sslyze.errors import (
    ConnectionToServerTimedOut,
    ServerRejectedConnection,
    TlsHandshakeTimedOut,
)
from sslyze.plugins.elliptic_curves_plugin import SupportedEllipticCurvesScanResult
from sslyze.plugins.openssl_cipher_suites.implementation import CipherSuitesScanResult
from sslyze.scanner.models import ServerScanResult, ServerScanStatusEnum
from sslyze.scanner.scan_command_attempt import ScanCommandAttemptStatusEnum

from harness.errors import FailureKind, ProbeFailure
from harness.inventory import TlsEndpoint
from harness.probes import Job
from harness.probes.tls.answered import silent_rejections, with_answered_vulns
from harness.probes.tls.certs import deployments
from harness.probes.tls.fallback import with_fallback_scsv
from harness.probes.tls.model import Hsts, ProtocolSupport, Robot, Suite, TlsScan
from harness.probes.tls.pq import with_post_quantum
from harness.probes.tls.request import SUITE_COMMANDS
from harness.probes.tls.versions import Answer, VersionCheck


def measurement(
    job: Job,
    result: ServerScanResult,
    ca_file: Path | None,
    checks: Sequence[VersionCheck] = (),
    enumerated: Mapping[str, CipherSuitesScanResult] | None = None,
    groups: SupportedEllipticCurvesScanResult | None = None,
) -> TlsScan | ProbeFailure:
    """Everything measured on one endpoint once its sslyze result is in. With no version checks
    and no enumerated suites, this is the measurement of sslyze's full scan, which
    tests/test_tls_plan.py compares with the planned one: any step added after the scan
    belongs here, so that both sides of that comparison take it."""
    outcome = _outcome(job, result, ca_file, checks, enumerated, groups)
    if isinstance(outcome, TlsScan):  # measured after the scan: silence is never a verdict
        outcome = with_answered_vulns(with_fallback_scsv(outcome, result), result)
        outcome = with_post_quantum(outcome, result)
    return outcome


def _outcome(
    job: Job,
    result: ServerScanResult,
    ca_file: Path | None,
    checks: Sequence[VersionCheck],
    enumerated: Mapping[str, CipherSuitesScanResult] | None = None,
    groups: SupportedEllipticCurvesScanResult | None = None,
) -> TlsScan | ProbeFailure:
    """The measurement from sslyze's result, the version checks and the enumerations."""
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

    refused = {c.protocol: c.evidence for c in checks if c.answer is Answer.REFUSED}
    protocols = []
    for name, command in SUITE_COMMANDS.items():
        if name in refused:
            protocols.append(ProtocolSupport(name, False, (), refused[name]))
            continue
        suites_result = (enumerated or {}).get(name) or get(command)
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
    curves = groups or get("elliptic_curves")
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
        robot=None if robot is None else Robot(robot.robot_result.value),
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


def _suite(accepted: Any) -> Suite:
    cs = accepted.cipher_suite
    key = accepted.ephemeral_key
    group = group_bits = prime = None
    if key is not None:
        curve = getattr(key, "curve_name", None)
        group = curve or "DH"
        # OpenSSL reports X25519/X448 as 253/448 bits of secret; the field sizes are 255/448
        group_bits = 255 if curve == "X25519" else int(key.size)
        raw = getattr(key, "prime", None) if curve is None else None
        if raw:
            prime = hashlib.sha256(bytes(raw).lstrip(b"\0")).hexdigest()
    return Suite(cs.name, int(cs.key_size), bool(cs.is_anonymous), group, group_bits, prime)


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
