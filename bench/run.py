"""The harness against its peers, on one fleet, in one run: wall times, ratios, peak RSS, goals.

    sudo .venv/bin/python bench/run.py --sizes 20,200 --testssl-sample 1

Starts a fleet (bench/fleet.py: one nginx with the largest size of TLS endpoints, banner hosts
with HTTP basic-auth logins) and times, for each size N:
  - harness TLS suite   `pytest suites/test_tls.py` over the N TLS endpoints;
  - sslyze CLI          the same endpoints, the same scan commands as harness/probes/tls.py;
  - harness full run    `pytest suites/` over the N endpoints plus the banner/login hosts;
and once: `nmap -sT -sV` over the hosts and ports the ports probe scans, hydra over the same
login endpoints with the same pairs, testssl.sh on a sample of endpoints, and a firewalled host.

As root it runs inside a private network namespace (`ip netns`), where 127.0.9.9 is routed into
a veth that drops everything: a host whose every port is silent, like one behind a DROP rule.
Without root it runs on the machine's loopback and skips the firewalled-host goal.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
PY = sys.executable
NETNS_ENV = "BENCH_NETNS"
MIB = 1024 * 1024
PAGE = os.sysconf("SC_PAGE_SIZE")

sys.path.insert(0, str(BENCH))
from breakdown import lines as breakdown_lines  # noqa: E402
from fleet import FILTERED_IP, Fleet  # noqa: E402

# -------------------------------------------------------------------------------- measuring


@dataclass
class Run:
    name: str
    wall: float
    rc: int | None
    # getrusage()'s ru_maxrss is no use here: after fork/vfork + exec it keeps the parent's RSS
    rss_process: float  # MiB, the largest VmHWM (peak RSS) of any process in the tree
    rss_tree: float  # MiB, the tree's summed RSS at its largest, sampled every 0.1 s
    started: float  # time.monotonic() at launch
    outcome: str = ""
    stamps: dict[str, Any] = field(default_factory=dict)
    cpu: float = 0.0  # user + system seconds of the process and the children it waited for


def _tree(root: int) -> list[int]:
    """`root` and its descendants, from the parent ids in /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(b")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def _memory(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in bytes; VmHWM is its own peak, exact, kept by the kernel."""
    rss = hwm = 0
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmRSS:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith(b"VmHWM:"):
                    hwm = int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss, hwm


def measure(
    name: str,
    cmd: list[str],
    cwd: Path,
    log: Path,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
) -> Run:
    """Run `cmd` to completion; wall time, exit code, and peak RSS of the process and its tree."""
    peak_tree, peak_one = [0], [0]
    done = threading.Event()
    with log.open("wb") as out:
        started = time.monotonic()
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )

        def sample() -> None:
            while not done.wait(0.1):
                mem = [_memory(pid) for pid in _tree(proc.pid)]
                peak_tree[0] = max(peak_tree[0], sum(rss for rss, _ in mem))
                peak_one[0] = max([peak_one[0], *(hwm for _, hwm in mem)])

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        timer = threading.Timer(timeout, os.killpg, (proc.pid, signal.SIGKILL)) if timeout else None
        if timer:
            timer.daemon = True  # an interrupted bench must not wait out the limit at exit
            timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
        done.set()
        if timer:
            timer.cancel()
    sampler.join()
    proc.returncode = rc = os.waitstatus_to_exitcode(status)
    timed_out = rc == -signal.SIGKILL and timeout is not None
    rc_or_none = None if timed_out else rc
    cpu = usage.ru_utime + usage.ru_stime
    return Run(name, wall, rc_or_none, peak_one[0] / MIB, peak_tree[0] / MIB, started, cpu=cpu)


class ConnectionSampler:
    """Client connections per remote address, from `ss` every 20 ms while a run goes on.

    Counts sockets in SYN-SENT or ESTABLISHED towards the given addresses (a lower bound: a
    connection shorter than the interval can be missed), so the concurrency limits can be
    checked from the outside."""

    def __init__(self, groups: dict[str, set[str]]) -> None:
        self.groups = groups
        self.addresses = set().union(*groups.values())
        self.per_host: dict[str, int] = {}
        self.hosts_at_once = 0
        self.group_hosts_at_once = dict.fromkeys(groups, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> ConnectionSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        cmd = ["ss", "-Htn", "state", "syn-sent", "state", "established"]
        while not self._stop.wait(0.02):
            out = subprocess.run(cmd, capture_output=True, text=True).stdout
            now: dict[str, int] = {}
            for line in out.splitlines():
                fields = line.split()  # [State] Recv-Q Send-Q Local:Port Peer:Port
                if len(fields) < 4:
                    continue
                local_port = int(fields[-2].rpartition(":")[2])
                peer = fields[-1].rpartition(":")[0]
                if peer in self.addresses and local_port >= 32768:  # our side, not the server's
                    now[peer] = now.get(peer, 0) + 1
            for host, count in now.items():
                self.per_host[host] = max(self.per_host.get(host, 0), count)
            self.hosts_at_once = max(self.hosts_at_once, len(now))
            for group, members in self.groups.items():
                at_once = sum(1 for h in now if h in members)
                self.group_hosts_at_once[group] = max(self.group_hosts_at_once[group], at_once)


def pytest_outcome(log: Path) -> str:
    text = log.read_text(errors="replace")
    counts = re.findall(r"(\d+) (passed|failed|errors?|skipped|deselected)", text[-3000:])
    return ", ".join(f"{n} {what}" for n, what in counts) or "no summary line (see the log)"


# ------------------------------------------------------------------------------- the tools


def sslyze_flags() -> list[str]:
    """The CLI flags of exactly the scan commands the TLS probe queues (HTTPS endpoints)."""
    from sslyze.plugins.scan_commands import ScanCommand, ScanCommandsRepository

    from harness.probes.tls import _COMMANDS

    commands = sorted(_COMMANDS | {ScanCommand.HTTP_HEADERS})
    return [
        "--" + ScanCommandsRepository.get_implementation_cls(c).cli_connector_cls._cli_option
        for c in commands
    ]


def pytest_cmd(suite: str, targets: Path, alluredir: Path) -> list[str]:
    # hypothesis and pytest-timeout are dev-only plugins of this checkout; a user's install of
    # the harness does not load them, so the benchmark leaves them out too
    return [
        PY,
        "-m",
        "pytest",
        suite,
        "--targets",
        str(targets),
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:hypothesispytest",
        "-p",
        "no:timeout",
        "-p",
        "stamps_plugin",
        "--alluredir",
        str(alluredir),
        "--clean-alluredir",
    ]


def hydra_pairs(budget_of: Path) -> tuple[list[tuple[str, str]], int]:
    """The pairs the logins probe tries on an http-basic endpoint, within its attempt budget."""
    from harness.inventory import LoginEndpoint, load
    from harness.probes.logins.lists import plan

    inv = load(budget_of)
    target = next(t for t in inv.targets if t.logins)
    ep = target.logins[0]
    budget = inv.settings(target, ep).login_attempt_budget
    probe_ep = LoginEndpoint(kind="http-basic", url=ep.url)
    pairs = [(c.username, c.password) for c in plan(probe_ep, None)]
    return pairs[: budget - 1], budget  # the probe spends one attempt on a control password


def declared_budget(targets: Path, name: str) -> dict[str, float]:
    """What the harness declares a silent host may cost, per probe kind, in seconds."""
    from harness.inventory import load

    inv = load(targets)
    settings = inv.settings(inv.target(name))
    budget = {"tls": settings.timeout}  # one preflight handshake (harness/probes/tls_preflight)
    try:
        from harness.probes.ports import Budget

        budget["ports"] = Budget.of(settings).host_timeout
    except ImportError:
        pass
    return budget


# ------------------------------------------------------------------------------- netns


def netns_supported() -> bool:
    return os.geteuid() == 0 and shutil.which("ip") is not None


def rerun_in_netns(argv: list[str], script: str = __file__) -> int:
    """Re-run `script` inside a new network namespace with a silent 127.0.9.9."""
    ns, sink = f"hbench-{os.getpid()}", f"hbench-{os.getpid()}-sink"
    setup = [
        ["ip", "netns", "add", ns],
        ["ip", "netns", "add", sink],
        ["ip", "-n", ns, "link", "set", "lo", "up"],
        [
            "ip",
            "-n",
            ns,
            "link",
            "add",
            "fw0",
            "type",
            "veth",
            "peer",
            "name",
            "fw1",
            "netns",
            sink,
        ],
        ["ip", "-n", ns, "link", "set", "fw0", "up"],
        ["ip", "-n", sink, "link", "set", "fw1", "up"],
        # 127/8 may leave lo only with route_localnet; the peer drops frames not addressed to it
        ["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.conf.all.route_localnet=1"],
        ["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.conf.fw0.route_localnet=1"],
        ["ip", "-n", ns, "route", "add", f"{FILTERED_IP}/32", "dev", "fw0", "table", "local"],
        [
            "ip",
            "-n",
            ns,
            "neigh",
            "add",
            FILTERED_IP,
            "lladdr",
            "02:00:00:00:09:09",
            "dev",
            "fw0",
            "nud",
            "permanent",
        ],
    ]
    try:
        for cmd in setup:
            subprocess.run(cmd, check=True, capture_output=True)
        env = {**os.environ, NETNS_ENV: ns}
        child = subprocess.Popen(["ip", "netns", "exec", ns, PY, script, *argv], env=env)
        try:
            return child.wait()
        except KeyboardInterrupt:
            child.send_signal(signal.SIGINT)
            return child.wait()
    except subprocess.CalledProcessError as exc:
        print(f"cannot set up the network namespace ({' '.join(exc.cmd)}): {exc.stderr.decode()}")
        return 2
    finally:
        for name in (ns, sink):
            subprocess.run(["ip", "netns", "del", name], capture_output=True)


def filtered_host_silent() -> bool:
    try:
        socket.create_connection((FILTERED_IP, 443), timeout=1).close()
    except TimeoutError:
        return True
    except OSError:
        return False
    return False


# ------------------------------------------------------------------------------- the bench


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.runs: list[Run] = []
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(BENCH), str(ROOT)])}
        # Python writes bytecode caches by default, as on a user's machine; this sandbox turns
        # that off, which would make every run of the (editable) harness recompile it
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)

    def run(
        self,
        name: str,
        cmd: list[str],
        *,
        cwd: Path | None = None,
        timeout: float = 900,
        stamps: bool = False,
    ) -> Run:
        log = self.work / f"{name}.log"
        env = dict(self.env)
        stamp_file = self.work / f"{name}.stamps.json"
        if stamps:
            env["BENCH_STAMPS"] = str(stamp_file)
        print(f"  running {name} ...", end="", flush=True)
        result = measure(name, cmd, cwd or ROOT, log, env, timeout)
        if stamps:
            result.outcome = pytest_outcome(log)
            if stamp_file.exists():
                result.stamps = json.loads(stamp_file.read_text())
        elif result.rc is None:
            result.outcome = f"killed at the {timeout:.0f} s limit"
        print(f" {result.wall:7.2f} s  {result.outcome}")
        self.runs.append(result)
        return result

    def repeated(self, runs: dict[str, tuple[list[str], dict[str, Any]]]) -> None:
        """Run each command --repeat times, alternating between them so that drifting load hits
        all alike; with repeats, add a run named without '#i' holding the median wall time."""
        repeat = self.args.repeat
        for i in range(repeat):
            for name, (cmd, kw) in runs.items():
                self.run(f"{name}#{i + 1}" if repeat > 1 else name, cmd, **kw)
        if repeat == 1:
            return
        for name in runs:
            mine = sorted(
                (r for r in self.runs if r.name.startswith(name + "#")), key=lambda r: r.wall
            )
            mid = mine[len(mine) // 2]
            self.runs.append(
                Run(
                    name,
                    statistics.median(r.wall for r in mine),
                    mid.rc,
                    max(r.rss_process for r in mine),
                    max(r.rss_tree for r in mine),
                    mid.started,
                    mid.outcome,
                    mid.stamps,
                )
            )


def publish_times(run: Run) -> dict[tuple[str, str], float]:
    started = run.stamps.get("runner_started")
    if started is None:
        return {}
    return {(p, k): t - started for p, k, t in run.stamps.get("published", [])}


def probe_finish(run: Run) -> dict[str, float]:
    out: dict[str, float] = {}
    for (probe, _), t in publish_times(run).items():
        out[probe] = max(out.get(probe, 0.0), t)
    return out


def scanned_once(run: Run) -> bool | None:
    scans = run.stamps.get("scans")
    return None if not scans else all(n == 1 for _, _, n in scans)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20,200", help="TLS endpoint counts (default 20,200)")
    parser.add_argument("--banner-hosts", type=int, default=4, help="banner/login hosts (1-4)")
    parser.add_argument(
        "--testssl-sample",
        type=int,
        default=1,
        help="endpoints testssl.sh scans, one at a time (0 skips it)",
    )
    parser.add_argument("--testssl-timeout", type=float, default=300)
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement (median)")
    parser.add_argument("--timeout", type=float, default=5, help="targets.yaml defaults.timeout")
    parser.add_argument(
        "--fw-timeout",
        type=float,
        default=2,
        help="the firewalled target's own timeout (its budget derives from it)",
    )
    parser.add_argument("--no-firewalled", action="store_true", help="skip the firewalled host")
    parser.add_argument("--no-limits", action="store_true", help="skip the concurrency-limit check")
    parser.add_argument("--no-netns", action="store_true", help="stay on the machine's loopback")
    parser.add_argument(
        "--port-offset",
        type=int,
        default=0,
        help="move the banner hosts' ports (21 -> 21+N...) when not in a netns",
    )
    parser.add_argument("--json", type=Path, help="write the figures as JSON here")
    parser.add_argument("--markdown", type=Path, help="write a Markdown table here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args()
    sizes = sorted({int(s) for s in args.sizes.split(",")})
    if NETNS_ENV not in os.environ and not args.no_netns and netns_supported():
        return rerun_in_netns(sys.argv[1:])
    for tool in ("nginx", "nmap", "hydra") + (("testssl",) if args.testssl_sample else ()):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is not installed")
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    work = Path(tempfile.mkdtemp(prefix="harness-bench-"))
    try:
        results = bench(args, sizes, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"work directory kept: {work}")
    report(results, args)
    return 0


def bench(args: argparse.Namespace, sizes: list[int], work: Path) -> dict[str, Any]:
    where = os.environ.get(NETNS_ENV)
    res_load = os.getloadavg()[0]
    print(
        f"bench: {os.cpu_count()} CPUs, load average {res_load:.1f} at the start; "
        + (f"network namespace {where}" if where else "host loopback")
    )
    fleet = Fleet.start(work / "fleet", max(sizes), args.banner_hosts, args.port_offset)
    b = Bench(args, work)
    res: dict[str, Any] = {"cpus": os.cpu_count(), "sizes": sizes, "netns": bool(where)}
    res["load_start"] = res_load
    try:
        ca = work / "fleet" / "ca.pem"
        flags = sslyze_flags()
        res["sslyze_flags"] = flags
        print(
            f"fleet: {len(fleet.tls)} TLS endpoints (one nginx), {len(fleet.banners)} banner/login hosts"
        )
        # warm the page cache and the bytecode of both Python tools
        one = fleet.write_targets(work / "tls-1.yaml", n_tls=1, banners=False, timeout=args.timeout)
        b.run("warm-up", pytest_cmd("suites/test_tls.py", one, work / "allure-warm"), stamps=True)
        b.run(
            "harness TLS suite, 1 endpoint",
            pytest_cmd("suites/test_tls.py", one, work / "allure-1"),
            stamps=True,
        )
        for n in sizes:
            print(f"size {n}:")
            tls_t = fleet.write_targets(
                work / f"tls-{n}.yaml", n_tls=n, banners=False, timeout=args.timeout
            )
            full_t = fleet.write_targets(work / f"full-{n}.yaml", n_tls=n, timeout=args.timeout)
            endpoints = work / f"endpoints-{n}.txt"
            endpoints.write_text(
                "".join(f"{h.server_name}:{h.port}{{{h.ip}}}\n" for h in fleet.tls[:n])
            )
            sslyze = [
                PY,
                "-m",
                "sslyze",
                *flags,
                "--certinfo_ca_file",
                str(ca),
                "--quiet",
                "--targets_in",
                str(endpoints),
                "--json_out",
                str(work / f"sslyze-{n}.json"),
            ]
            b.repeated(
                {
                    f"harness TLS suite, {n}": (
                        pytest_cmd("suites/test_tls.py", tls_t, work / f"allure-tls-{n}"),
                        {"stamps": True},
                    ),
                    f"sslyze CLI, {n}": (sslyze, {}),
                    f"harness full run, {n}": (
                        pytest_cmd("suites/", full_t, work / f"allure-full-{n}"),
                        {"stamps": True},
                    ),
                }
            )
            scanned = json.loads((work / f"sslyze-{n}.json").read_text())["server_scan_results"]
            res[f"sslyze_completed_{n}"] = sum(
                1 for s in scanned if s["scan_status"] == "COMPLETED"
            )
        print("peers over the banner and login hosts:")
        hosts = [h.ip for h in fleet.banners]
        nmap = [
            "nmap",
            "-sT",
            "-sV",
            "-Pn",
            "-n",
            "-T4",
            "--top-ports",
            "1000",
            "-oX",
            str(work / "nmap.xml"),
            *hosts,
        ]
        res["nmap_cmd"] = " ".join([*nmap[: -len(hosts)], "<hosts>"]).replace(str(work), "WORK")
        b.repeated({"nmap -sT -sV": (nmap, {})})
        pairs, _ = hydra_pairs(work / f"full-{sizes[0]}.yaml")
        (work / "pairs.txt").write_text("".join(f"{u}:{p}\n" for u, p in pairs))
        (work / "hosts.txt").write_text(
            "".join(f"{h.ip}:{h.ports['http']}\n" for h in fleet.banners)
        )
        hydra = [
            "hydra",
            "-I",
            "-q",
            "-C",
            str(work / "pairs.txt"),
            "-M",
            str(work / "hosts.txt"),
            "-t",
            "1",
            "-f",
            "-o",
            str(work / "hydra.txt"),
            "http-get",
            "/admin",
        ]
        res["hydra_pairs"] = len(pairs)
        res["hydra_cmd"] = "hydra -C pairs.txt -M hosts.txt -t 1 -f http-get /admin"
        b.repeated({"hydra": (hydra, {"cwd": work})})
        res["hydra_found"] = (
            (work / "hydra.txt").read_text().count("login:") if (work / "hydra.txt").exists() else 0
        )
        if not args.no_limits:
            limits(b, fleet, min(20, len(fleet.tls)), 2, 4, res)
            watch_default_limits(b, fleet, max(sizes), res)
        if not args.no_firewalled:
            firewalled(b, fleet, args, sizes[0], res)
        if args.testssl_sample:
            print("testssl.sh, one endpoint at a time:")
            for h in fleet.tls[: args.testssl_sample]:
                b.run(
                    f"testssl.sh {h.name}",
                    ["testssl", "--quiet", "--color", "0", "--warnings", "off", f"{h.ip}:{h.port}"],
                    cwd=work,
                    timeout=args.testssl_timeout,
                )
    finally:
        fleet.stop()
    res["load_end"] = os.getloadavg()[0]
    res["runs"] = [asdict(r) for r in b.runs]
    return res


def firewalled(
    b: Bench, fleet: Fleet, args: argparse.Namespace, n: int, res: dict[str, Any]
) -> None:
    if not os.environ.get(NETNS_ENV):
        res["firewalled"] = {"skipped": "needs root for a network namespace (ip netns)"}
        return
    if not filtered_host_silent():
        res["firewalled"] = {"skipped": f"{FILTERED_IP} is not silent in the namespace"}
        return
    print(f"firewalled host {FILTERED_IP} (every port silent) added to the size-{n} fleet:")
    t = fleet.write_targets(
        b.work / f"fw-{n}.yaml",
        n_tls=n,
        filtered=True,
        timeout=args.timeout,
        filtered_timeout=args.fw_timeout,
    )
    run = b.run(
        f"harness full run, {n} + firewalled",
        pytest_cmd("suites/", t, b.work / "allure-fw"),
        stamps=True,
    )
    res["firewalled"] = {"budget": declared_budget(t, "firewalled"), "timeout": args.fw_timeout}
    times = publish_times(run)
    base = next(r for r in b.runs if r.name == f"harness full run, {n}")

    def last_by_probe(stamps: dict[tuple[str, str], float], firewalled: bool) -> dict[str, float]:
        out: dict[str, float] = {}
        for (probe, key), t in stamps.items():
            if key.startswith("firewalled") == firewalled:
                out[probe] = max(out.get(probe, 0.0), t)
        return out

    res["firewalled"].update(
        cost=last_by_probe(times, True),
        others=last_by_probe(times, False),
        others_without=last_by_probe(publish_times(base), False),
        wall=run.wall,
        wall_without=base.wall,
    )


def limits(b: Bench, fleet: Fleet, n: int, per_host: int, hosts: int, res: dict[str, Any]) -> None:
    """The full run with tight limits in targets.yaml, watched from outside with ss."""
    print(f"limits: tls_connections_per_host {per_host}, max_concurrent_hosts {hosts}, size {n}:")
    t = fleet.write_targets(
        b.work / f"limits-{n}.yaml",
        n_tls=n,
        timeout=b.args.timeout,
        tls_connections_per_host=per_host,
        max_concurrent_hosts=hosts,
    )
    tls_ips = {h.ip for h in fleet.tls[:n]}
    banner_ips = {h.ip for h in fleet.banners}
    with ConnectionSampler({"tls": tls_ips, "banner": banner_ips}) as seen:
        b.run(f"harness full run, {n}, tight limits", pytest_cmd("suites/", t, b.work / "allure-lim"),
              stamps=True)  # fmt: skip
    tls_seen = {h: c for h, c in seen.per_host.items() if h in tls_ips}
    banner_seen = {h: c for h, c in seen.per_host.items() if h in banner_ips}
    res["limits"] = {
        "tls_connections_per_host": per_host,
        "max_concurrent_hosts": hosts,
        "tls_max_per_host": max(tls_seen.values(), default=0),
        "banner_hosts_max_per_host": banner_seen,
        "hosts_at_once": seen.hosts_at_once,
        "tls_hosts_at_once": seen.group_hosts_at_once["tls"],
    }


def watch_default_limits(b: Bench, fleet: Fleet, n: int, res: dict[str, Any]) -> None:
    """The TLS suite at the largest size with the default limits, watched with ss."""
    print(f"limits: the defaults (5 connections per host, 10 hosts), TLS suite, size {n}:")
    t = fleet.write_targets(
        b.work / f"watch-{n}.yaml", n_tls=n, banners=False, timeout=b.args.timeout
    )
    tls_ips = {h.ip for h in fleet.tls[:n]}
    b.env["BENCH_SOCKETS"] = "1"  # and counted from inside, socket by socket
    try:
        with ConnectionSampler({"tls": tls_ips}) as seen:
            run = b.run(f"harness TLS suite, {n}, watched", pytest_cmd("suites/test_tls.py", t, b.work / "allure-watch"),
                        stamps=True)  # fmt: skip
    finally:
        del b.env["BENCH_SOCKETS"]
    inside = run.stamps.get("sockets") or {}
    res["limits_default"] = {
        "inside_max_per_host": max(
            (c for h, c in inside.get("peak_per_host", {}).items() if h in tls_ips), default=None
        ),
        "inside_hosts_at_once": inside.get("hosts_peak"),
        "size": n,
        "tls_connections_per_host": 5,
        "max_concurrent_hosts": 10,
        "tls_max_per_host": max(seen.per_host.values(), default=0),
        "tls_hosts_at_once": seen.group_hosts_at_once["tls"],
    }


# ------------------------------------------------------------------------------- report


def _run(res: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((r for r in res["runs"] if r["name"] == name), None)


def report(res: dict[str, Any], args: argparse.Namespace) -> None:
    sizes: list[int] = res["sizes"]
    big, small = sizes[-1], sizes[0]
    md: list[str] = [
        "| Run | Wall time (s) | Peak RSS, largest process (MiB) | Peak RSS, process tree (MiB) | Outcome |",
        "|---|---:|---:|---:|---|",
    ]
    print()
    print(f"{'run':<40} {'wall s':>8} {'RSS MiB':>8} {'tree MiB':>9}  outcome")
    for r in res["runs"]:
        if r["name"] == "warm-up":
            continue
        outcome = r["outcome"] or (f"exit {r['rc']}" if r["rc"] is not None else "killed")
        print(
            f"{r['name']:<40} {r['wall']:8.2f} {r['rss_process']:8.0f} {r['rss_tree']:9.0f}  {outcome}"
        )
        md.append(
            f"| {r['name']} | {r['wall']:.2f} | {r['rss_process']:.0f} | {r['rss_tree']:.0f} | {outcome} |"
        )
    for r in res["runs"]:
        started = r["stamps"].get("runner_started")
        if started is None or r["name"] == "warm-up":
            continue
        finish = probe_finish(Run(**r))
        print(
            f"{r['name']}: probes started at {started - r['started']:.1f} s, last results "
            + ", ".join(
                f"{p} {t + started - r['started']:.1f} s" for p, t in sorted(finish.items())
            )
            + f", pytest done at {r['wall']:.1f} s"
        )
    for r in res["runs"]:
        if r["stamps"].get("phases") and r["name"].startswith("harness TLS suite"):
            print(f"where the seconds of '{r['name']}' went:")
            for line in breakdown_lines(r["stamps"], r["started"], r["started"] + r["wall"]):
                print("  " + line)
    for n in sizes:
        done = res.get(f"sslyze_completed_{n}")
        print(f"sslyze CLI, {n}: {done} of {n} scans completed")
    print(f"hydra: {res['hydra_pairs']} pairs per endpoint, found {res['hydra_found']} login(s)")
    goals: list[tuple[str, str, bool | None]] = []

    def wall(name: str) -> float | None:
        r = _run(res, name)
        return None if r is None else float(r["wall"])

    # overlap: when each probe kind had published its last result, in the largest full run
    full_big = _run(res, f"harness full run, {big}")
    if full_big:
        run = Run(**full_big)
        finish = probe_finish(run)
        once = scanned_once(run)
        print(
            "probe kinds in the full run of "
            + str(big)
            + ", last result at: "
            + ", ".join(f"{p} {t:.1f} s" for p, t in sorted(finish.items()))
            + f"; every subject probed once: {'yes' if once else 'NO' if once is False else '?'}"
        )
    for n in sizes:
        suite, sslyze = wall(f"harness TLS suite, {n}"), wall(f"sslyze CLI, {n}")
        if suite and sslyze:
            goal = 0.8 if n >= 200 else 1.0  # issue 14
            goals.append(
                (
                    f"TLS suite <= {goal} x sslyze CLI ({n} endpoints)",
                    f"{suite / sslyze:.2f} x ({suite:.1f} s / {sslyze:.1f} s)",
                    suite / sslyze <= goal,
                )
            )
    testssl = [
        r["wall"] for r in res["runs"] if r["name"].startswith("testssl.sh") and r["rc"] is not None
    ]
    suite_big = wall(f"harness TLS suite, {big}")
    if testssl and suite_big:
        per_ep = suite_big / big
        speed = statistics.mean(testssl) / per_ep
        goals.append(
            (
                f">= 30 x faster per endpoint than testssl.sh ({big}-endpoint run)",
                f"{speed:.0f} x (testssl.sh {statistics.mean(testssl):.1f} s, harness {per_ep:.2f} s per endpoint)",
                speed >= 30,
            )
        )
        one = wall("harness TLS suite, 1 endpoint")
        if one:
            goals.append(
                (
                    "  (info) testssl.sh vs the TLS suite on 1 endpoint alone",
                    f"{statistics.mean(testssl) / one:.0f} x ({one:.1f} s)",
                    None,
                )
            )
    else:
        goals.append(
            (
                ">= 30 x faster per endpoint than testssl.sh",
                "not measured (--testssl-sample 0)",
                None,
            )
        )
    for n in sizes:
        full = wall(f"harness full run, {n}")
        peers = [wall(f"sslyze CLI, {n}"), wall("nmap -sT -sV"), wall("hydra")]
        if full and all(peers):
            total = sum(p for p in peers if p)
            floor = (peers[0] or 0) / total  # the TLS work alone, done by sslyze itself
            goals.append(
                (
                    f"whole run <= 0.8 x the peers one after another ({n} endpoints)",
                    f"{full / total:.2f} x ({full:.1f} s / sslyze + nmap + hydra = {total:.1f} s; "
                    f"sslyze alone is {floor:.2f} x of that sum)",
                    full / total <= 0.8,
                )
            )
    if len(sizes) > 1:
        limit = 1.1 * big / small
        for label in ("harness TLS suite", "harness full run"):
            a, z = wall(f"{label}, {small}"), wall(f"{label}, {big}")
            if a and z:
                goals.append(
                    (
                        f"time at {big} / time at {small} <= {limit:g} ({label[8:]})",
                        f"{z / a:.2f} ({z:.1f} s / {a:.1f} s)",
                        z / a <= limit,
                    )
                )
    if full_big:
        rss = max(full_big["rss_tree"], full_big["rss_process"])
        tls_big = _run(res, f"harness TLS suite, {big}")
        rss_tls = tls_big["rss_tree"] if tls_big else 0
        goals.append(
            (
                f"peak RSS <= 1 GiB at {big} endpoints (full run, whole process tree)",
                f"{rss:.0f} MiB (TLS suite alone: {rss_tls:.0f} MiB)",
                rss <= 1024,
            )
        )
    lim = res.get("limits")
    checks: list[tuple[str, str, bool | None]] = []
    if lim:
        checks = [
            (
                "TLS: connections to one TLS host at once <= tls_connections_per_host",
                f"{lim['tls_max_per_host']} <= {lim['tls_connections_per_host']}",
                lim["tls_max_per_host"] <= lim["tls_connections_per_host"],
            ),
            (
                "TLS: TLS hosts with open connections at once <= max_concurrent_hosts",
                f"{lim['tls_hosts_at_once']} <= {lim['max_concurrent_hosts']}",
                lim["tls_hosts_at_once"] <= lim["max_concurrent_hosts"],
            ),
            (
                "banner/login hosts: connections to one host at once (ports, banners, logins; "
                "no per-host setting applies)",
                ", ".join(f"{h} {c}" for h, c in sorted(lim["banner_hosts_max_per_host"].items())),
                None,
            ),
            (
                "hosts with open connections at once, all probe kinds together (each kind applies "
                "max_concurrent_hosts on its own)",
                str(lim["hosts_at_once"]),
                None,
            ),
        ]
        dflt = res.get("limits_default")
        if dflt:
            checks += [
                (
                    f"TLS, {dflt['size']} endpoints, default limits: connections to one TLS host "
                    "at once <= 5",
                    f"{dflt['tls_max_per_host']} <= 5 (counted inside the process, connect() to "
                    f"close: {dflt.get('inside_max_per_host')})",
                    dflt["tls_max_per_host"] <= dflt["tls_connections_per_host"],
                ),
                (
                    f"TLS, {dflt['size']} endpoints, default limits: TLS hosts with open "
                    "connections at once <= 10",
                    f"{dflt['tls_hosts_at_once']} <= 10 (inside: {dflt.get('inside_hosts_at_once')})",
                    dflt["tls_hosts_at_once"] <= dflt["max_concurrent_hosts"],
                ),
            ]
        print(
            f"concurrency limits from targets.yaml (tls_connections_per_host "
            f"{lim['tls_connections_per_host']}, max_concurrent_hosts {lim['max_concurrent_hosts']}),"
            " our connections seen with ss every 20 ms:"
        )
        for text, figure, ok in checks:
            mark = "    " if ok is None else ("PASS" if ok else "FAIL")
            print(f"  {mark}  {text}: {figure}")
    fw = res.get("firewalled")
    if fw and "skipped" not in fw:
        budget = max(fw["budget"].values())
        cost = max(fw["cost"].values(), default=0.0)
        per = ", ".join(f"{p} {t:.1f} s" for p, t in sorted(fw["cost"].items()))
        bud = ", ".join(f"{p} {t:g} s" for p, t in sorted(fw["budget"].items()))
        slack = 1.0  # starting nmap and reading its XML, after nmap's own host timeout
        goals.append(
            (
                f"firewalled host costs <= its declared budget (timeout {fw['timeout']:g} s)",
                f"{cost:.1f} s vs {budget:g} s + {slack:g} s slack (per probe: {per}; declared: {bud})",
                cost <= budget + slack,
            )
        )
        with_fw, without = fw["others"], fw["others_without"]
        stalls = {p: with_fw[p] - without[p] for p in with_fw if p in without}
        worst = max(stalls, key=lambda p: stalls[p])
        allowed = max(1.0, 0.1 * max(without.values()))
        goals.append(
            (
                "firewalled host does not stall the other hosts",
                "their last result per probe with / without it: "
                + ", ".join(f"{p} {with_fw[p]:.1f} / {without[p]:.1f} s" for p in sorted(stalls))
                + f"; worst {worst} {stalls[worst]:+.1f} s (allowed +{allowed:.1f} s); "
                f"whole run {fw['wall']:.1f} s vs {fw['wall_without']:.1f} s",
                stalls[worst] <= allowed,
            )
        )
    elif fw:
        goals.append(("firewalled host", f"not measured: {fw['skipped']}", None))
    print()
    print(
        f"load average (1 min) {res['load_start']:.1f} at the start, {res['load_end']:.1f} at the "
        f"end, on {res['cpus']} CPUs: other work on the machine slows every run alike"
    )
    print("goals (issues 7 and 14):")
    for text, figure, ok in goals:
        mark = "    " if ok is None else ("PASS" if ok else "FAIL")
        print(f"  {mark}  {text}: {figure}")
    res["goals"] = [{"goal": t, "figure": f, "pass": ok} for t, f, ok in goals]
    breakdowns = {
        r["name"]: breakdown_lines(r["stamps"], r["started"], r["started"] + r["wall"])
        for r in res["runs"]
        if r["stamps"].get("phases") and r["name"].startswith("harness TLS suite")
    }
    if args.json:
        for r in res["runs"]:  # keep when each probe kind finished, not every single stamp
            run = Run(**r)
            r["probe_finish"] = probe_finish(run)
            r["probed_once"] = scanned_once(run)
            if r["name"] in breakdowns:
                r["breakdown"] = breakdowns[r["name"]]
            del r["stamps"]
        args.json.write_text(json.dumps(res, indent=1, default=str) + "\n")
        print(f"wrote {args.json}")
    if args.markdown:
        md += ["", "| Goal | Measured | Result |", "|---|---|---|"]
        md += [
            f"| {t.strip()} | {f} | {'' if ok is None else 'PASS' if ok else 'FAIL'} |"
            for t, f, ok in goals
        ]
        if checks and lim:
            md += ["", f"Concurrency limits (tls_connections_per_host {lim['tls_connections_per_host']}, "
                   f"max_concurrent_hosts {lim['max_concurrent_hosts']}, seen with ss every 20 ms):", "",
                   "| Check | Seen | Result |", "|---|---|---|"]  # fmt: skip
            md += [
                f"| {t} | {f} | {'' if ok is None else 'PASS' if ok else 'FAIL'} |"
                for t, f, ok in checks
            ]
        for name, text in breakdowns.items():
            if "#" in name or name.endswith("watched"):
                continue
            md += ["", f"Where the seconds of '{name}' went (bench/breakdown.py):", "", "```"]
            md += [*text, "```"]
        head = (
            f"Measured on {res['cpus']} CPUs (load average {res['load_start']:.1f} at the start, "
            f"{res['load_end']:.1f} at the end), "
            + ("inside a private network namespace" if res["netns"] else "on the host loopback")
            + f"; sizes {', '.join(map(str, sizes))} TLS endpoints.\n\n"
            + f"Command: `.venv/bin/python bench/run.py {' '.join(sys.argv[1:])}`\n\n"
        )
        args.markdown.write_text("# Benchmark results\n\n" + head + "\n".join(md) + "\n")
        print(f"wrote {args.markdown}")


if __name__ == "__main__":
    raise SystemExit(main())
