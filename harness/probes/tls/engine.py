"""Run sslyze's scan commands on one endpoint, in the caller's thread, with a bounded pool.

sslyze's `Scanner` takes a whole batch: it tests connectivity for every server first, then
hands scans out to fixed worker queues that it polls every 0.2 s. The TLS probe instead runs
each endpoint from start to end in one worker (pre-check, versions, scan), so that one bound,
`max_concurrent_hosts`, holds for all of it. This module is the "scan" part: sslyze's own
connectivity test, then the jobs of the chosen scan commands on up to `connections` connections
at once, folded into the same `ServerScanResult` the Scanner returns (so its JSON is unchanged).

It uses helpers private to sslyze's scanner, through tls.sslyze_adapter (`scan_jobs`,
`scan_result`): they turn scan jobs into results exactly as the Scanner does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from traceback import TracebackException
from typing import Any

from sslyze.errors import ConnectionToServerFailed
from sslyze.scanner.models import (
    ServerConnectivityStatusEnum,
    ServerScanRequest,
    ServerScanResult,
    ServerScanStatusEnum,
)
from sslyze.server_connectivity import (
    ServerConnectivityInfo,
    ServerTlsProbingResult,
    check_connectivity_to_server,
)

from harness.probes.tls import sslyze_adapter
from harness.probes.tls.sslyze_adapter import CompletedScanJob


def connect(request: ServerScanRequest) -> ServerConnectivityInfo | ServerScanResult:
    """sslyze's connectivity test; a failure comes back as the Scanner's result for it."""
    try:
        probing = check_connectivity_to_server(
            request.server_location, request.network_configuration
        )
    except ConnectionToServerFailed as exc:
        return ServerScanResult(
            uuid=request.uuid,
            server_location=request.server_location,
            network_configuration=request.network_configuration,
            connectivity_status=ServerConnectivityStatusEnum.ERROR,
            connectivity_error_trace=TracebackException.from_exception(exc),
            connectivity_result=None,
            scan_status=ServerScanStatusEnum.ERROR_NO_CONNECTIVITY,
            scan_result=None,
        )
    return ServerConnectivityInfo(
        server_location=request.server_location,
        network_configuration=request.network_configuration,
        tls_probing_result=probing,
    )


def run_all(pool: ThreadPoolExecutor, calls: Sequence[Callable[[], Any]]) -> list[Any]:
    """Run the calls on the endpoint's connection pool; results in order."""
    return [f.result() for f in [pool.submit(c) for c in calls]]


def scan(
    request: ServerScanRequest, probing: ServerTlsProbingResult, pool: ThreadPoolExecutor
) -> ServerScanResult:
    """Every job of the request's scan commands on `pool`, folded into sslyze's result."""
    jobs, queuing_errors = sslyze_adapter.scan_jobs(request, probing)

    def call(command: Any, job: Any) -> CompletedScanJob:
        try:
            value = job.function_to_call(*job.function_arguments)
        except Exception as exc:  # sslyze's worker threads keep the exception for the plugin
            return sslyze_adapter.completed_job(request.uuid, command, None, exc)
        return sslyze_adapter.completed_job(request.uuid, command, value, None)

    calls = [
        (lambda c=command, j=job: call(c, j)) for command, todo in jobs.items() for job in todo
    ]
    done = run_all(pool, calls)
    return sslyze_adapter.scan_result(request, probing, queuing_errors, done)
