"""The report of bench/run.py: the table of runs, when the probes finished, the goals and the
concurrency checks, printed, and written as JSON and Markdown when asked."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from typing import Any

from breakdown import lines as breakdown_lines
from measuring import Run, probe_finish, scanned_once


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
