"""Discovery at collection time: the port scan of each opted-in target, run once before pytest
parametrizes the suites, so every service it identifies becomes a subject of the areas that fit
it (harness.probes.discovered), named '<target>:tls:9443 (discovered)'.

Why at collection, not a two-phase `harness discover` writing a file: subjects are fixed when
pytest collects, and the port scan is the measurement `ports.*` needs anyway. Made first, it
gives the subjects, and the same scan (result, evidence, timing) is handed to the run's probe
runner, so the port probe does not scan again (`provide`). One command keeps -k, -m, --shard,
xdist and the CI templates as they are, and no file can go stale between two steps.

Once per run: in a single pytest process on its first parametrization; under xdist, by the
controller when it configures its first worker, the scans reaching every worker through
`workerinput` (a worker never scans for discovery, so each target is scanned once, and every
worker collects the same tests, as xdist requires). Only this shard's targets are discovered.
`--collect-only` contacts nothing: discovered subjects are not listed then.

A port a declared endpoint already covers stays the declared one's (one set of results).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pytest

from harness.checks import Area
from harness.coverage import PortRow
from harness.errors import ProbeFailure
from harness.inventory import Inventory, Target
from harness.inventory.models import LoginEndpoint
from harness.probes import Evidence, Job, Timing, ports_codec
from harness.probes.addresses import resolve_all
from harness.probes.discovered import Facts, Found, facts_wanted, open_ports, plan
from harness.probes.ports_model import PortScan
from harness.session import shard
from harness.session.runner import ProbeRunner
from harness.session.state import STATE, SUMMARY, inventory_of
from harness.session.subjects import AREAS, per_address_jobs

WIRE = "harness_discovered"  # the workerinput key


@dataclass
class Scanned:
    """One address's port scan, as the port probe would have published it."""

    result: PortScan | ProbeFailure
    evidence: list[Evidence] = field(default_factory=list)
    timing: Timing | None = None


@dataclass
class Discovery:
    scans: dict[str, Scanned] = field(default_factory=dict)  # by ports probe key
    facts: dict[str, dict[int, Facts]] = field(default_factory=dict)  # target -> port -> facts
    targets: list[str] = field(default_factory=list)  # the targets discovered
    # made once: the discovered subjects by area (every suite function asks for its area's),
    # the rows per target, the scan results per target
    jobs: dict[Area, list[Job]] | None = field(default=None, repr=False)
    rows: dict[str, list[Found]] | None = field(default=None, repr=False)
    index: dict[str, list[PortScan | ProbeFailure]] | None = field(default=None, repr=False)

    def found(self, inv: Inventory) -> dict[str, list[Found]]:
        """Each discovered target's rows (made once, after the facts are in: see discover)."""
        if self.rows is None:
            self.rows = {
                name: plan(
                    inv.target(name), open_ports(self._scans(name)), self.facts.get(name, {})
                )
                for name in self.targets
            }
        return self.rows

    def _results(self, target: str) -> list[PortScan | ProbeFailure]:
        if self.index is None:
            self.index = {}
            for key, s in self.scans.items():  # 'web-01', or 'web-01@192.0.2.7' per address
                self.index.setdefault(key.partition("@")[0], []).append(s.result)
        return self.index.get(target, [])

    def _scans(self, target: str) -> list[PortScan]:
        return [r for r in self._results(target) if isinstance(r, PortScan)]

    def failures(self, target: str) -> list[ProbeFailure]:
        return [r for r in self._results(target) if isinstance(r, ProbeFailure)]


DISCOVERY = pytest.StashKey[Discovery]()


def opted_in(inv: Inventory, names: set[str] | None) -> list[Target]:
    return [t for t in inv.targets if t.discovers and (names is None or t.name in names)]


def of(config: pytest.Config) -> Discovery | None:
    """This run's discovery, made on first use (None: nothing to discover, or collect-only)."""
    if DISCOVERY in config.stash:
        return config.stash[DISCOVERY]
    inv = inventory_of(config)
    workerinput = getattr(config, "workerinput", None)
    if inv is None:
        return None
    if workerinput is not None:
        data = workerinput.get(WIRE)
        found = from_wire(data) if data is not None else Discovery()
    elif config.option.collectonly:
        return None
    else:
        targets = opted_in(inv, _shard_names(config, inv))
        if not targets:  # kept, so the next suite function does not look again
            config.stash[DISCOVERY] = Discovery()
            return config.stash[DISCOVERY]
        # discovery contacts targets; an xdist controller passes the signal on to its workers
        config.stash[STATE].sigterm.install(forward=config.pluginmanager.has_plugin("dsession"))
        found = discover(inv, targets, _writer(config))
    config.stash[DISCOVERY] = found
    config.stash[SUMMARY].coverage = coverage(inv, found)
    return found


def _shard_names(config: pytest.Config, inv: Inventory) -> set[str] | None:
    spec = config.getoption("harness_shard")
    return shard.targets_of(inv, spec) if spec else None


Say = Callable[[str], None]


def _writer(config: pytest.Config) -> Say:
    """Progress lines to the terminal (collection captures nothing yet); the port probe's
    threads say them, one line at a time."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return lambda line: None
    lock = threading.Lock()

    def say(line: str) -> None:
        with lock:
            reporter.write_line(f"harness [discovery] {line}")

    return say


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: discover once, and hand the scans to each worker."""
    found = of(node.config)
    if found is not None:
        node.workerinput[WIRE] = to_wire(found)


class _Collect:
    """A ProbeContext that keeps what the port probe publishes, for the run to reuse."""

    def __init__(self, inv: Inventory, say: Say) -> None:
        self.inventory = inv
        self.say = say
        self.scans: dict[str, Scanned] = {}
        self._begun: dict[str, int] = {}
        self._evidence: dict[str, list[Evidence]] = {}

    def begin(self, key: str) -> None:
        self._begun.setdefault(key, _now_ms())

    def publish(self, key: str, result: Any) -> None:
        start = self._begun.get(key, _now_ms())
        self.scans[key] = Scanned(result, self._evidence.pop(key, []), Timing(start, _now_ms()))

    def progress(self, message: str) -> None:
        self.say(message)

    def result_of(self, probe: str, key: str) -> Any:
        raise LookupError("discovery runs the port probe alone")

    def attach(self, key: str, name: str, body: str | bytes, mime: str) -> None:
        self._evidence.setdefault(key, []).append(Evidence(name, body, mime))


def _now_ms() -> int:
    return int(time.time() * 1000)


def discover(inv: Inventory, targets: list[Target], say: Say) -> Discovery:
    """Scan each target's addresses with the port probe, then ask the open questions."""
    from harness.probes.ports import PortsProbe

    say(f"port scan of {len(targets)} target(s) to find their services")
    addresses = resolve_all(targets, inv.defaults.max_concurrent_hosts or 10)
    jobs = [
        one
        for t in targets
        for job in AREAS[Area.PORTS].subjects(inv, t)
        for one in per_address_jobs(job, Area.PORTS, addresses.get(t.name))
    ]
    ctx = _Collect(inv, say)
    PortsProbe().run(jobs, ctx)
    result = Discovery(scans=ctx.scans, targets=[t.name for t in targets])
    questions: list[_Question] = []
    for t in targets:
        settings = inv.settings(t)
        for port in open_ports(result._scans(t.name)):
            wanted = facts_wanted(t, port)
            address = _address_of(result, t.name, port.port)
            if wanted is None or address is None:
                continue
            questions.append(
                _Question(
                    t.name,
                    wanted,
                    address,
                    port.port,
                    settings.timeout,
                    settings.connections_per_host,
                    port.tunnel == "ssl",
                )
            )
    if questions:
        workers = max(1, min(len(questions), inv.defaults.max_concurrent_hosts or 10))
        with ThreadPoolExecutor(workers, thread_name_prefix="discover") as pool:
            answers = list(pool.map(_ask, questions))
        for q, facts in zip(questions, answers, strict=True):
            result.facts.setdefault(q.target, {})[q.port] = facts
    found_rows = result.found(inv)
    for t in targets:
        rows = found_rows.get(t.name, [])
        made = sum(1 for r in rows if r.tls or r.ssh or r.login)
        say(f"{t.name}: {len(rows)} open port(s), {made} with a discovered subject")
    return result


class _Question(NamedTuple):
    target: str
    question: str
    address: str
    port: int
    timeout: float
    per_host: int
    tls: bool


def _ask(q: _Question) -> Facts:
    from harness.probes.discovery_facts import ask

    return ask(q.question, q.address, q.port, q.timeout, q.per_host, tls=q.tls)


def _address_of(found: Discovery, target: str, port: int) -> str | None:
    for scan in found._scans(target):
        if any(p.port == port for p in scan.open_ports):
            return scan.address
    return None


# -- the subjects and what they cover


def _declared_ports(inv: Inventory, t: Target, area: Area) -> dict[tuple[int, str], str]:
    """(port, protocol) -> subject key of each declared endpoint of an area on this target."""
    return {_port_of(job): job.key for job in reversed(AREAS[area].subjects(inv, t))}


def discovered_jobs(inv: Inventory, found: Discovery) -> dict[Area, list[Job]]:
    """The discovered subjects of each area, in target and port order; a port a declared
    endpoint of that area covers is left to the declared one."""
    if found.jobs is not None:
        return found.jobs
    out: dict[Area, list[Job]] = {Area.TLS: [], Area.SSH: [], Area.LOGINS: []}
    for name, rows in found.found(inv).items():
        t = inv.target(name)
        declared = {area: _declared_ports(inv, t, area) for area in out}
        for row in rows:
            at = (row.port, row.protocol)
            if row.tls is not None and at not in declared[Area.TLS]:
                key = f"{name}:tls:{row.tls.label} (discovered)"
                out[Area.TLS].append(Job(key, t, row.tls, inv.settings(t, row.tls)))
            if row.ssh is not None and at not in declared[Area.SSH]:
                key = f"{name}:ssh:{row.port} (discovered)"
                out[Area.SSH].append(Job(key, t, row.ssh, inv.settings(t)))
            login = row.login
            if login is not None and at not in declared[Area.LOGINS]:
                key = f"{name}:{login.kind}:{row.port} (discovered)"
                out[Area.LOGINS].append(Job(key, t, login, inv.settings(t, login)))
    found.jobs = out
    return out


def subjects(config: pytest.Config, area: str) -> list[Job]:
    """The discovered subjects of one area in this run (none when nothing is discovered)."""
    found = of(config)
    inv = inventory_of(config)
    if found is None or inv is None:
        return []
    return discovered_jobs(inv, found).get(Area(area), [])


def provide(config: pytest.Config, runner: ProbeRunner) -> None:
    """Hand discovery's port scans to the run's runner: the port probe does not scan again."""
    found = config.stash.get(DISCOVERY, None)
    if found is None:
        return
    for key, scanned in found.scans.items():
        runner.provide("ports", key, scanned.result, scanned.evidence, scanned.timing)


def coverage(inv: Inventory, found: Discovery) -> dict[str, list[PortRow]]:
    """Per discovered target, each found port and the subjects meant to examine it."""
    mine: dict[tuple[str, int, str], list[tuple[str, str]]] = {}
    for area, jobs in discovered_jobs(inv, found).items():
        for j in jobs:
            mine.setdefault((j.target.name, *_port_of(j)), []).append((area.value, j.key))
    out: dict[str, list[PortRow]] = {}
    for name, rows in found.found(inv).items():
        t = inv.target(name)
        declared = {a: _declared_ports(inv, t, a) for a in (Area.TLS, Area.SSH, Area.LOGINS)}
        out[name] = [
            PortRow("?", "", (), False, f"the port scan could not measure {f.where}: {f.reason}")
            for f in found.failures(name)
        ]
        for row in rows:
            subjects: list[tuple[str, str, str]] = []
            for area, ports in declared.items():
                if (row.port, row.protocol) in ports:
                    subjects.append((area.value, ports[(row.port, row.protocol)], "declared"))
            for area_name, key in mine.get((name, row.port, row.protocol), []):
                subjects.append((area_name, key, "discovered"))
            subjects.append(("ports", name, ""))
            note = _unsaid(row.why_not, {a for a, _, how in subjects if how == "declared"})
            out[name].append(PortRow(row.label, row.service, tuple(subjects), row.classified, note))
    return out


def _unsaid(note: str, declared: set[str]) -> str:
    """The parts of a row's note that still hold: what discovery left out of an area that a
    declared endpoint examines anyway is not worth saying."""
    parts = [p for p in note.split("; ") if p]
    if "logins" in declared:
        parts = [p for p in parts if "discovered_logins" not in p and "HTTP" not in p]
    if "tls" in declared:
        parts = [p for p in parts if "STARTTLS" not in p]
    return "; ".join(parts)


def _port_of(job: Job) -> tuple[int, str]:
    ep = job.endpoint
    if isinstance(ep, LoginEndpoint):
        return ep.effective_port, "udp" if ep.kind == "snmp" else "tcp"
    return int(getattr(ep, "port", 0)), "tcp"


# -- over the wire to xdist workers (execnet carries plain data only)


def to_wire(found: Discovery) -> dict[str, Any]:
    return {
        "targets": list(found.targets),
        "scans": {
            key: {
                "result": ports_codec.dump(s.result),
                "evidence": [[e.name, e.body, e.mime] for e in s.evidence],
                "timing": [s.timing.start, s.timing.stop] if s.timing else None,
            }
            for key, s in found.scans.items()
        },
        "facts": {
            name: {str(p): [f.starttls, f.http_auth, f.note] for p, f in by_port.items()}
            for name, by_port in found.facts.items()
        },
    }


def from_wire(data: dict[str, Any]) -> Discovery:
    return Discovery(
        scans={
            key: Scanned(
                ports_codec.load(s["result"]),
                [Evidence(n, b, m) for n, b, m in s["evidence"]],
                Timing(*s["timing"]) if s["timing"] else None,
            )
            for key, s in data["scans"].items()
        },
        facts={
            name: {int(p): Facts(f[0], f[1], f[2]) for p, f in by_port.items()}
            for name, by_port in data["facts"].items()
        },
        targets=list(data["targets"]),
    )
