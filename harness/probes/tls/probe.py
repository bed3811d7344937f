"""The TLS probe: sslyze's measurements of every declared TLS endpoint, on every address of its
name (one job per endpoint address, see probes.addresses).

Per endpoint, in one worker: a one-handshake pre-check (tls.preflight), sslyze's connectivity
test, one handshake per protocol version (tls.versions.check_version), then the cipher suites
of each version the server speaks, one handshake per accepted suite (enumerate_suites), on a
TLS 1.3 server the EC groups likewise (tls.groups), and sslyze's other scan commands
(tls.engine). sslyze's own per-suite scan of a version (one handshake per suite it knows: 121
to 158) or per-group scan (30) runs only where those shortcuts were not clean.

Every other command runs as before: the profile and grade checks need each of their
measurements (policy's `need`), so none of them is settled in advance.

Hosts are scanned concurrently (max_concurrent_hosts, every stage included) and gently per host:
each endpoint, from its pre-check to the confirmations after the scan, holds
tls_connections_per_host slots of its host's connection budget (connections_per_host), which
the other probe kinds share (see hostgate), and never opens more connections than it holds.
Each endpoint gets a `TlsScan`, or a `ProbeFailure` when sslyze could not reach it or it never
completed a TLS handshake: fail closed, never a pass.

The sslyze request is built in tls.request, and sslyze's result read into a TlsScan in
tls.reading.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sslyze.json.json_output import ServerScanResultAsJson
from sslyze.plugins.scan_commands import ScanCommand
from sslyze.scanner.models import ServerScanRequest, ServerScanResult

from harness.errors import FailureKind, ProbeFailure
from harness.probes import Job, ProbeContext
from harness.probes.deadline import TLS_PASS_FACTOR, tls_pass_deadline
from harness.probes.hostgate import GATE, host_key
from harness.probes.tls import engine
from harness.probes.tls.groups import enumerate_groups
from harness.probes.tls.model import TlsScan
from harness.probes.tls.pace import PAUSE, SILENT_LIMIT, Pace, install
from harness.probes.tls.preflight import preflight, reachable
from harness.probes.tls.reading import measurement
from harness.probes.tls.request import SUITE_COMMANDS, ca_file, preflight_args, scan_request
from harness.probes.tls.trust import evidence as trust_evidence
from harness.probes.tls.versions import VERSIONS, Answer, check_version, enumerate_suites

install()  # sslyze's connections go through each endpoint's pace (tls.pace)


class TlsProbe:
    name = "tls"

    def run(self, jobs: list[Job], ctx: ProbeContext) -> None:
        if not jobs:
            return
        base = ctx.inventory.path.parent if ctx.inventory.path else Path.cwd()
        settings = jobs[0].settings  # concurrency limits are run-wide (defaults only)
        built: list[tuple[Job, ServerScanRequest]] = []
        for job in jobs:
            request = scan_request(job, base)
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
    connect. The connection pool is as wide as the slots held, so the budget holds at the socket.

    The first handshake that times out ends the parallel pass, and the endpoint is measured
    again one connection at a time (tls.pace); the host's other probes then get one connection
    at a time too (hostgate.pace). A server silent to SILENT_LIMIT handshakes even when asked
    alone is not queueing them: the rest of that pass goes back to parallel, and the host is
    not paced. Only what the server leaves unanswered when asked serially is broken."""
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
    paced = GATE.paced(address)
    limit = tls_pass_deadline(settings.timeout)
    with GATE.hold(address, 1 if paced else slots, settings.connections_per_host):
        ctx.begin(job.key)  # after the wait for the budget: the probe step shows its own time
        failure = preflight(*preflight_args(job, request))
        if failure is not None:
            return failure
        if paced is not None:  # the host is fragile: one connection at a time from the start
            outcome, files, pace = _pass(job, request, 1, Pace(limit, serial=True))
        else:
            # with one connection at a time already, a timeout is the server's silence
            outcome, files, pace = _pass(job, request, slots, Pace(limit, gives_up=slots > 1))
            if not pace.gave_up:
                _attach(ctx, job.key, files)
                return outcome
            first = pace.timeouts
            ctx.progress(f"{job.key}: a handshake timed out; measuring it one connection at a time")
            serial = Pace(limit, serial=True, widen_after=SILENT_LIMIT)
            outcome, files, pace = _pass(job, request, slots, serial)
            if pace.widened:
                paced = (
                    f"asked one connection at a time after {first} timeout(s) with {slots} at "
                    f"once, the server stayed silent to {SILENT_LIMIT} handshakes even then, so "
                    f"the rest was measured {slots} at a time again"
                )
            else:
                paced = (
                    f"measured one connection at a time after {first} timeout(s) with {slots} "
                    "connections at once"
                )
                GATE.pace(address, paced)  # the host's other probes: one at a time too
        files.append((f"pacing of {job.key}", _pacing_note(paced, pace), "text/plain"))
        _attach(ctx, job.key, files)
        if isinstance(outcome, ProbeFailure):
            return dataclasses.replace(outcome, reason=f"{outcome.reason} ({paced})")
        # a check still broken says how it was asked, not "run the scan again"
        errors = tuple((command, f"{why} ({paced})") for command, why in outcome.errors)
        return dataclasses.replace(outcome, pacing=paced, errors=errors)


def _pacing_note(paced: str, pace: Pace) -> str:
    return (
        f"{paced}.\nThe last pass opened {pace.opened} connection(s), one at a time with "
        f"{PAUSE:g} s between them while serial; {pace.timeouts} of its reads or connects "
        "timed out" + ("; it hit its deadline." if pace.expired else ".")
    )


_Files = list[tuple[str, str, str]]


def _pass(
    job: Job, request: ServerScanRequest, slots: int, pace: Pace
) -> tuple[TlsScan | ProbeFailure, _Files, Pace]:
    """One measurement of the endpoint under `pace`: every socket it opens is closed when it
    ends, and at the pace's deadline every one is shut down, so it ends then whatever the
    server does."""
    limit = pace.deadline
    files: _Files = []
    try:
        with pace.current():
            outcome = _scan(job, request, slots, pace, files)
    except Exception as exc:  # published as a failure by _endpoint, unless the deadline explains it
        if not pace.expired:
            raise
        outcome = ProbeFailure(FailureKind.ERROR, job.where, f"{type(exc).__name__}: {exc}")
    finally:
        pace.finish()
    if pace.gave_up:  # a handshake timed out with others at once: the caller asks serially
        files.clear()
        outcome = ProbeFailure(FailureKind.TIMEOUT, job.where, "a handshake timed out")
    elif pace.expired:
        files.clear()
        outcome = ProbeFailure(
            FailureKind.TIMEOUT,
            job.where,
            f"the TLS measurement did not finish within its deadline of {limit:g} s "
            f"({TLS_PASS_FACTOR} x the timeout): the server stopped answering mid-scan, as a "
            "server stuck on one connection does; check that it still serves clients",
        )
    elif isinstance(outcome, ProbeFailure) and pace.timeouts:
        # sslyze's connectivity test reads a version that timed out as "not supported"
        outcome = ProbeFailure(
            FailureKind.TIMEOUT,
            job.where,
            f"{outcome.reason}; {pace.timeouts} read(s) or connect(s) timed out on the way, so the "
            "server stopped answering rather than refused",
        )
    return outcome, files, pace


def _attach(ctx: ProbeContext, key: str, files: _Files) -> None:
    for name, body, mime in files:
        ctx.attach(key, name, body, mime)


def _scan(
    job: Job, request: ServerScanRequest, slots: int, pace: Pace, files: _Files
) -> TlsScan | ProbeFailure:
    info = engine.connect(request)
    if isinstance(info, ServerScanResult):
        return measurement(job, info, ca_file(request))
    connections = ThreadPoolExecutor(max_workers=slots, initializer=pace.enter_thread)
    try:
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
        skip = {ScanCommand(SUITE_COMMANDS[p]) for p in settled}
        if groups is not None:
            skip.add(ScanCommand.ELLIPTIC_CURVES)
        planned = dataclasses.replace(request, scan_commands=request.scan_commands - skip)
        result = engine.scan(planned, info.tls_probing_result, connections)
    finally:
        # after the deadline, queued jobs are dropped and nobody waits for the running ones
        # (their sockets are shut down, so they end at once)
        connections.shutdown(wait=not pace.expired, cancel_futures=True)
    # the confirmations after the scan connect too: still inside the held slots and the pace
    outcome = measurement(job, result, ca_file(request), checks, enumerated, groups)
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
        files.append(
            (f"sslyze scan of {job.key}", json.dumps(evidence, indent=1), "application/json")
        )
        if outcome.certificates:
            files.append(
                (
                    f"certificate trust of {job.key}",
                    trust_evidence(outcome.certificates),
                    "text/plain",
                )
            )
    return outcome
