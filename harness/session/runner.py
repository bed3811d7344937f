"""Runs every probe kind once per run, concurrently, and hands results to tests.

Probes run in background threads; the pytest main thread waits on one result at a time and
prints the probes' progress lines while it waits, because only the main thread may write to
the terminal while pytest captures output.

Observers (`add_observer`) are told, with typed events, when the run starts, when a probe's
module has loaded, and when each job starts and ends, so a benchmark can time the run without
reaching into the runner. They are called in the probe threads: they must be quick and must not
raise.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from harness.areas import load_probe
from harness.errors import FailureKind, ProbeFailure
from harness.inventory import Inventory
from harness.probes import Evidence, Job, Timing
from harness.probes.deadline import tls_endpoint_bound

HEARTBEAT_SECONDS = 10.0  # never leave the terminal silent for longer than this
# The longest a probe may work on one job once it has begun it (ctx.begin), by probe kind; past
# it (plus GRACE_SECONDS for the probe to notice its own deadline), `get` stops waiting and the
# job is broken. A probe kind not listed bounds its own jobs (watchdogs, nmap's host timeout).
JOB_BOUNDS: dict[str, Callable[[Job], float]] = {
    "tls": lambda job: tls_endpoint_bound(job.settings.timeout),
}
GRACE_SECONDS = 30.0


class ProbeCancelled(Exception):
    """Raised in a probe's thread when it publishes after the run has ended."""


def _now_ms() -> int:
    return int(time.time() * 1000)


# Events for observers; `at` is time.monotonic(), one clock for every process on Linux.
@dataclass(frozen=True)
class RunStarted:
    """The first probe batch is being submitted."""

    at: float


@dataclass(frozen=True)
class ProbeLoaded:
    """A probe kind's module is imported and ready (or failed to import) in `seconds`."""

    probe: str
    seconds: float
    at: float


@dataclass(frozen=True)
class JobStarted:
    """The probe starts work on one job (a probe that never says so: no event)."""

    probe: str
    key: str
    at: float


@dataclass(frozen=True)
class JobFinished:
    """The job's result is published, once: a measurement, or a ProbeFailure (`failed`)."""

    probe: str
    key: str
    failed: bool
    at: float


ProbeEvent = RunStarted | ProbeLoaded | JobStarted | JobFinished
Observer = Callable[[ProbeEvent], None]


@dataclass
class _Context:
    runner: ProbeRunner
    probe: str
    inventory: Inventory
    published: set[str] = field(default_factory=set)
    started_ms: int = field(default_factory=_now_ms)  # the batch's start: the default begin
    begun: dict[str, int] = field(default_factory=dict)

    def begin(self, key: str) -> None:
        """The probe starts work on this subject now (a probe that never says so: batch start)."""
        if key not in self.begun:
            self.begun[key] = _now_ms()
            with self.runner._lock:
                self.runner.begun_at[(self.probe, key)] = time.monotonic()
            self.runner.notify(JobStarted(self.probe, key, time.monotonic()))

    def publish(self, key: str, result: Any | ProbeFailure) -> None:
        self.runner.check_cancelled()
        self.published.add(key)
        start = self.begun.get(key, self.started_ms)
        with self.runner._lock:
            self.runner.timings.setdefault((self.probe, key), Timing(start, _now_ms()))
        self.runner._set(self.probe, key, result)

    def progress(self, message: str) -> None:
        self.runner.check_cancelled()
        self.runner.progress_lines.put(f"[{self.probe}] {message}")

    def result_of(self, probe: str, key: str) -> Any | ProbeFailure:
        return self.runner._future(probe, key).result()

    def attach(self, key: str, name: str, body: str | bytes, mime: str) -> None:
        with self.runner._lock:
            self.runner.evidence.setdefault((self.probe, key), []).append(
                Evidence(name, body, mime)
            )


class ProbeRunner:
    """`per_target=False` (a normal run): every probe kind starts at the first request, over
    every planned job, so the kinds overlap. `per_target=True` (an xdist worker, which only
    learns its tests one by one): probes start target by target, on that target's first request,
    so a target is probed only in the worker its tests were grouped into.
    """

    def __init__(
        self,
        inventory: Inventory,
        plan: dict[str, list[Job]],
        per_target: bool = False,
        observers: Sequence[Observer] = (),
    ) -> None:
        self.inventory = inventory
        self.plan = {p: jobs for p, jobs in plan.items() if jobs}
        self._jobs = {(p, j.key): j for p, jobs in self.plan.items() for j in jobs}
        self.per_target = per_target
        self.progress_lines: queue.Queue[str] = queue.Queue()
        self.evidence: dict[tuple[str, str], list[Evidence]] = {}
        self.timings: dict[tuple[str, str], Timing] = {}
        self.scans: Counter[tuple[str, str]] = Counter()  # (probe, key) -> times probed
        self._futures: dict[tuple[str, str], Future[Any]] = {}
        self.begun_at: dict[tuple[str, str], float] = {}  # when a probe began each job
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._started: set[str | None] = set()  # target names started; None = all of them
        self._started_at = 0.0
        self.cancelled = threading.Event()
        self._observers: list[Observer] = list(observers)

    def add_observer(self, observer: Observer) -> None:
        """Tell `observer` of every later event (add it before `start` to see them all)."""
        with self._lock:
            self._observers.append(observer)

    def notify(self, event: ProbeEvent) -> None:
        with self._lock:
            observers = list(self._observers)
        for observer in observers:
            observer(event)

    def start(self, target: str | None = None) -> None:
        """Start the planned probes (of one target, in per-target mode) in the background."""
        scope = target if self.per_target else None
        with self._lock:
            if scope in self._started or None in self._started:
                return
            self._started.add(scope)
            if self._pool is None:
                self._started_at = time.monotonic()
                self._pool = ThreadPoolExecutor(
                    max_workers=max(1, len(self.plan)), thread_name_prefix="probe"
                )
                first = True
            else:
                first = False
            pool = self._pool
        if first:
            self.notify(RunStarted(self._started_at))
        for probe, jobs in self.plan.items():
            chosen = [j for j in jobs if scope is None or j.target.name == scope]
            chosen = [j for j in chosen if not self._future(probe, j.key).done()]  # provided
            if not chosen:
                continue
            for job in chosen:
                self._future(probe, job.key)
            pool.submit(self._run, probe, chosen)

    def get(
        self, probe: str, key: str, wait: Callable[[], None] | None = None
    ) -> Any | ProbeFailure:
        """The result for one job; `wait` is called while blocking (to print progress)."""
        job = self._jobs.get((probe, key))  # every test asks: a lookup, not a scan of the plan
        if job is None:
            return ProbeFailure(FailureKind.ERROR, key, f"no {probe} probe was planned for {key}")
        self.start(job.target.name)
        fut = self._future(probe, key)
        last_line = time.monotonic()
        while True:
            try:
                return fut.result(timeout=0.25)
            except TimeoutError:
                pass
            if not self.progress_lines.empty():
                last_line = time.monotonic()
            elif time.monotonic() - last_line > HEARTBEAT_SECONDS:
                elapsed = time.monotonic() - self._started_at
                self.progress_lines.put(
                    f"[{probe}] still working on {key} ({elapsed:.0f} s elapsed)"
                )
                last_line = time.monotonic()
            overdue = self._overdue(probe, job)
            if overdue is not None:
                self._set(probe, key, overdue)
                return fut.result()
            if wait is not None:
                wait()

    def _overdue(self, probe: str, job: Job) -> ProbeFailure | None:
        """A failure for a job its probe began longer ago than its bound allows, else None."""
        bound = JOB_BOUNDS.get(probe)
        with self._lock:
            begun = self.begun_at.get((probe, job.key))
        if bound is None or begun is None:
            return None
        limit = bound(job) + GRACE_SECONDS
        if time.monotonic() - begun <= limit:
            return None
        return ProbeFailure(
            FailureKind.TIMEOUT,
            job.where,
            f"the {probe} probe began this {limit:.0f} s ago and has not finished, past its "
            "deadline: the probe is stuck (a bug: please report it with the run's output)",
        )

    def provide(
        self, probe: str, key: str, result: Any, evidence: list[Evidence], timing: Timing | None
    ) -> None:
        """A result measured before the run began (discovery's port scan, made at collection):
        the probe is not run for this key, and its evidence and timing are kept as its own."""
        with self._lock:
            self.evidence.setdefault((probe, key), []).extend(evidence)
            if timing is not None:
                self.timings.setdefault((probe, key), timing)
        self._set(probe, key, result)

    def take_evidence(self, probe: str, key: str) -> list[Evidence]:
        """Evidence for one subject, handed out once so each endpoint is attached once."""
        with self._lock:
            return self.evidence.pop((probe, key), [])

    def timing(self, probe: str, key: str) -> Timing | None:
        with self._lock:
            return self.timings.get((probe, key))

    def drain_progress(self) -> list[str]:
        lines: list[str] = []
        while True:
            try:
                lines.append(self.progress_lines.get_nowait())
            except queue.Empty:
                return lines

    def check_cancelled(self) -> None:
        if self.cancelled.is_set():
            raise ProbeCancelled("the run is over (finished or interrupted)")

    def shutdown(self) -> None:
        # a probe still working (after -x) stops at its next publish or progress line, so it
        # sends nothing more to its targets than the exchange under way; after Ctrl-C or
        # SIGTERM, probes.stopping has also cut that exchange and ended nmap
        self.cancelled.set()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    # -- internals
    def _future(self, probe: str, key: str) -> Future[Any]:
        with self._lock:
            fut = self._futures.get((probe, key))
            if fut is None:
                fut = self._futures[(probe, key)] = Future()
            return fut

    def _set(self, probe: str, key: str, result: Any) -> None:
        fut = self._future(probe, key)
        if not fut.done():
            self.scans[(probe, key)] += 1
            fut.set_result(result)
            failed = isinstance(result, ProbeFailure)
            self.notify(JobFinished(probe, key, failed, time.monotonic()))

    def _run(self, probe: str, jobs: list[Job]) -> None:
        ctx = _Context(self, probe, self.inventory)
        try:
            loading = time.monotonic()
            try:
                impl = load_probe(probe)
            finally:
                done = time.monotonic()
                self.notify(ProbeLoaded(probe, done - loading, done))
            impl.run(jobs, ctx)
            missing_reason = f"the {probe} probe returned no result for this subject"
            kind = FailureKind.ERROR
        except ImportError as exc:
            missing_reason, kind = f"the {probe} probe cannot load: {exc}", FailureKind.TOOL_MISSING
        except Exception as exc:
            # fail closed: a crashed probe leaves every unanswered job broken, never passed
            missing_reason, kind = (
                f"the {probe} probe crashed: {type(exc).__name__}: {exc}",
                FailureKind.ERROR,
            )
        for job in jobs:
            if job.key not in ctx.published:
                with self._lock:
                    self.timings.setdefault(
                        (probe, job.key), Timing(ctx.begun.get(job.key, ctx.started_ms), _now_ms())
                    )
                self._set(probe, job.key, ProbeFailure(kind, job.where, missing_reason))
