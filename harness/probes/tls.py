"""The TLS probe: sslyze's measurements of every declared TLS endpoint, on every address of its
name (one job per endpoint address, see probes.addresses).

Per endpoint, in one worker: a one-handshake pre-check (tls_preflight), sslyze's connectivity
test, one handshake per protocol version (tls_versions.check_version), then the cipher suites
of each version the server speaks, one handshake per accepted suite (enumerate_suites), on a
TLS 1.3 server the EC groups likewise (tls_groups), and sslyze's other scan commands
(tls_engine). sslyze's own per-suite scan of a version (one handshake per suite it knows: 121
to 158) or per-group scan (30) runs only where those shortcuts were not clean.

Every other command runs as before: the profile and grade checks need each of their
measurements (policy's `need`), so none of them is settled in advance.

Hosts are scanned concurrently (max_concurrent_hosts, every stage included) and gently per host:
each endpoint, from its pre-check to the confirmations after the scan, holds
tls_connections_per_host slots of its host's connection budget (connections_per_host), which
the other probe kinds share (see hostgate), and never opens more connections than it holds.
Each endpoint gets a `TlsScan`, or a `ProbeFailure` when sslyze could not reach it or it never
completed a TLS handshake: fail closed, never a pass.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
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
from sslyze.plugins.elliptic_curves_plugin import SupportedEllipticCurvesScanResult
from sslyze.plugins.openssl_cipher_suites.implementation import CipherSuitesScanResult
from sslyze.plugins.scan_commands import ScanCommand
from sslyze.scanner.models import (
    ScanCommandsExtraArguments,
    ServerScanRequest,
    ServerScanResult,
    ServerScanStatusEnum,
)
from sslyze.scanner.scan_command_attempt import ScanCommandAttemptStatusEnum
from sslyze.server_setting import ServerNetworkConfiguration, ServerNetworkLocation

from harness.errors import FailureKind, ProbeFailure
from harness.inventory import TlsEndpoint
from harness.probes import Job, ProbeContext
from harness.probes import tls_engine as engine
from harness.probes.hostgate import GATE, host_key
from harness.probes.tls_answered import silent_rejections, with_answered_vulns
from harness.probes.tls_certs import deployments
from harness.probes.tls_fallback import with_fallback_scsv
from harness.probes.tls_groups import enumerate_groups
from harness.probes.tls_model import Hsts, ProtocolSupport, Robot, Suite, TlsScan
from harness.probes.tls_preflight import preflight, reachable
from harness.probes.tls_trust import evidence as trust_evidence
from harness.probes.tls_versions import (
    VERSIONS,
    Answer,
    VersionCheck,
    check_version,
    enumerate_suites,
)

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
            f"{settings.max_concurrent_hosts} hosts at a time, "
            f"{min(settings.tls_connections_per_host, settings.connections_per_host)}"
            " connections per host"
        )
        tally = _Tally(len(built), time.monotonic())
        # One worker per host address, from the pre-check to the last scan job of each of its
        # endpoints in turn: so at most max_concurrent_hosts hosts are contacted at once,
        # whatever stage each one is at, a host never gets more TLS connections than the slots
        # its endpoint holds in the shared budget (hostgate), and a silent endpoint holds one
        # worker for its timeout, nobody else's.
        by_host: dict[str, list[tuple[Job, ServerScanRequest]]] = {}
        for job, request in built:
            by_host.setdefault(host_key(str(request.server_location.ip_address)), []).append(
                (job, request)
            )
        with ThreadPoolExecutor(
            max_workers=min(settings.max_concurrent_hosts, len(by_host))
        ) as hosts:
            for endpoints in by_host.values():
                hosts.submit(_host, endpoints, ctx, tally)
        ctx.progress(
            f"sslyze: {tally.done} endpoint(s) scanned, {tally.broken} could not be scanned, "
            f"in {time.monotonic() - tally.started:.1f} s"
        )


@dataclass
class _Tally:
    total: int
    started: float
    done: int = 0
    broken: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    over: threading.Event = field(default_factory=threading.Event)

    def count(self, ctx: ProbeContext, key: str, outcome: TlsScan | ProbeFailure) -> None:
        with self.lock:
            if isinstance(outcome, TlsScan):
                self.done += 1
                state = "scanned"
            else:
                self.broken += 1
                state = f"could not be scanned ({outcome.kind})"
            ctx.progress(
                f"{key} {state} ({self.done + self.broken}/{self.total}, "
                f"{time.monotonic() - self.started:.1f} s)"
            )


def _host(endpoints: list[tuple[Job, ServerScanRequest]], ctx: ProbeContext, tally: _Tally) -> None:
    for job, request in endpoints:
        if tally.over.is_set():
            return
        try:
            _endpoint(job, request, ctx, tally)
        except Exception:
            # publishing refused: the run is over (finished or interrupted); contact no one else
            tally.over.set()
            raise


def _endpoint(job: Job, request: ServerScanRequest, ctx: ProbeContext, tally: _Tally) -> None:
    """Pre-check, versions, scan and publish one endpoint. A bug is published as a failure; only a
    refused publish (the run is over) raises."""
    try:
        outcome = _measure(job, request, ctx)
    except Exception as exc:  # a result must be published for every job, whatever happens
        outcome = ProbeFailure(
            FailureKind.ERROR, job.where, f"the TLS probe failed: {type(exc).__name__}: {exc}"
        )
    ctx.publish(job.key, outcome)
    tally.count(ctx, job.key, outcome)


def _measure(job: Job, request: ServerScanRequest, ctx: ProbeContext) -> TlsScan | ProbeFailure:
    """The endpoint's whole scan, inside its slots of the host's connection budget: the pre-check,
    sslyze's connectivity test, the versions, the scan and the confirmations after it all
    connect. The connection pool is as wide as the slots held, so the budget holds at the socket."""
    settings = job.settings
    slots = max(1, min(settings.tls_connections_per_host, settings.connections_per_host))
    address = str(request.server_location.ip_address)
    # By default the scan holds the host's whole budget, so it waits for a port scan that
    # holds one slot, 60 s on a silent host. One slot answers "is anyone there" beside it.
    with GATE.hold(address, 1, settings.connections_per_host):
        silent = reachable(address, request.server_location.port, settings.timeout, job.where)
    if silent is not None:
        ctx.begin(job.key)
        return silent
    with GATE.hold(address, slots, settings.connections_per_host):
        ctx.begin(job.key)  # after the wait for the budget: the probe step shows its own time
        return _scan(job, request, ctx, slots)


def _scan(
    job: Job, request: ServerScanRequest, ctx: ProbeContext, slots: int
) -> TlsScan | ProbeFailure:
    failure = preflight(*_preflight_args(job, request))
    if failure is not None:
        return failure
    info = engine.connect(request)
    if isinstance(info, ServerScanResult):
        return measurement(job, info, _ca_file(request))
    with ThreadPoolExecutor(max_workers=slots) as connections:
        checks = tuple(
            engine.run_all(
                connections,
                [lambda p=p: check_version(info, p) for p in VERSIONS],  # type: ignore[misc]
            )
        )
        # a refused version's per-suite scan could only repeat "refused" once per suite; an
        # accepted version's suites are enumerated with one handshake per accepted suite
        spoken = [c.protocol for c in checks if c.answer is Answer.ACCEPTED]
        # ... and the EC groups with one handshake per accepted group, alongside
        *suites, groups = engine.run_all(
            connections,
            [
                *(lambda p=p: enumerate_suites(info, p) for p in spoken),
                lambda: enumerate_groups(info),
            ],
        )
        enumerated = {p: r for p, r in zip(spoken, suites, strict=True) if r is not None}
        settled = {c.protocol for c in checks if c.answer is Answer.REFUSED} | set(enumerated)
        skip = {ScanCommand(_SUITE_COMMANDS[p]) for p in settled}
        if groups is not None:
            skip.add(ScanCommand.ELLIPTIC_CURVES)
        planned = dataclasses.replace(request, scan_commands=request.scan_commands - skip)
        result = engine.scan(planned, info.tls_probing_result, connections)
    # the confirmations after the scan connect too: still inside the held slots
    outcome = measurement(job, result, _ca_file(request), checks, enumerated, groups)
    if isinstance(outcome, TlsScan):
        evidence = ServerScanResultAsJson.model_validate(result).model_dump(mode="json")
        evidence["harness_version_checks"] = [
            {
                "protocol": c.protocol,
                "answer": c.answer.value,
                "evidence": c.evidence,
                "accepted_suites_enumerated": [
                    s.cipher_suite.name for s in enumerated[c.protocol].accepted_cipher_suites
                ]
                if c.protocol in enumerated
                else None,
            }
            for c in checks
        ]
        evidence["harness_groups_enumerated"] = (
            None if groups is None else [c.name for c in groups.supported_curves or ()]
        )
        ctx.attach(
            job.key,
            f"sslyze scan of {job.key}",
            json.dumps(evidence, indent=1),
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
    for name, command in _SUITE_COMMANDS.items():
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
