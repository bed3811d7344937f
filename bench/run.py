"""The harness against its peers, on one fleet, in one run: wall times, ratios, peak RSS, goals.

    sudo .venv/bin/python bench/run.py --sizes 20,200 --testssl-sample 1

Starts a fleet (bench/fleet.py: one nginx with the largest size of TLS endpoints, banner hosts
with HTTP basic-auth logins) and times, for each size N:
  - harness TLS suite   `pytest suites/test_tls.py` over the N TLS endpoints;
  - sslyze CLI          the same endpoints, the same scan commands as harness/probes/tls/probe.py;
  - harness full run    `pytest suites/` over the N endpoints plus the banner/login hosts;
and once: `nmap -sT -sV` over the hosts and ports the ports probe scans, hydra over the same
login endpoints with the same pairs, testssl.sh on a sample of endpoints, and a firewalled host.

As root it runs inside a private network namespace (`ip netns`), where 127.0.9.9 is routed into
a veth that drops everything: a host whose every port is silent, like one behind a DROP rule.
Without root it runs on the machine's loopback and skips the firewalled-host goal.

This file says what is run and when; bench/measuring.py measures each run (time, RSS, `ss`,
the harness's stamps), bench/peers.py builds the command lines, bench/namespaces.py the network
namespace, and bench/run_report.py prints the figures and writes the JSON and Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
PY = sys.executable

sys.path.insert(0, str(BENCH))
from fleet import FILTERED_IP, Fleet  # noqa: E402
from measuring import (  # noqa: E402
    Bench,
    ConnectionSampler,
    publish_times,
)
from namespaces import NETNS_ENV, filtered_host_silent, netns_supported, rerun_in_netns  # noqa: E402
from peers import declared_budget, hydra_pairs, pytest_cmd, sslyze_flags  # noqa: E402
from run_report import report  # noqa: E402


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
        return rerun_in_netns(sys.argv[1:], __file__)
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


if __name__ == "__main__":
    raise SystemExit(main())
