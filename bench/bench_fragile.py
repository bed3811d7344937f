"""A fragile TLS server, measured run after run (issue 23): verdicts, broken checks, time.

The server is Debian's OpenSSL 3 `openssl s_server` with legacy suites, behind the proxy of
tests/fragile_proxy.py (one connection at a time, slower the more clients queue behind). The
baseline is the harness's TLS suite on the same s_server without the proxy. Then, each with a
fresh proxy: `--runs` TLS-suite runs, `--full-runs` runs of every area declared on the server
(TLS, ports and banners; no login, as s_server -www answers 200 to any password), and testssl.sh's default run on the same server, side by
side. Every figure is printed, and written as markdown with `--markdown`.

    .venv/bin/python bench/bench_fragile.py --runs 10 --full-runs 3 --markdown bench/results-fragile.md
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from fragile_proxy import FragileProxy, legacy_s_server  # noqa: E402
from tls_servers import HOST, make_pki  # noqa: E402

FRAGILE_HOST = "127.0.0.91"  # the proxy's address: its own host, as a real appliance is
Verdicts = dict[tuple[str, str], str]


def targets(port: int, host: str, bundle: Path, timeout: float, full: bool) -> str:
    lines = ["version: 1", f"defaults: {{ca_bundle: {bundle}, timeout: {timeout:g}}}", "targets:"]
    lines += [
        "  - name: legacy",
        f"    host: {host}",
        f"    tls: [{{port: {port}, server_name: legacy.test}}]",
    ]
    if full:
        lines += [
            f"    ports: {{scan: '{port}', expected: [{port}]}}",
            f"    http: [{{url: 'https://{host}:{port}/'}}]",
        ]  # no login: s_server -www answers 200 to any password, which is broken by design
    return "\n".join(lines) + "\n"


def suite_run(work: Path, name: str, yaml: str, full: bool) -> tuple[float, Verdicts]:
    """One pytest run of the suites: (wall seconds, (check, target) -> status)."""
    (work / f"{name}.yaml").write_text(yaml)
    out = work / f"{name}.json"
    suites = [str(ROOT / "suites" / "test_tls.py")] if not full else [str(ROOT / "suites")]
    started = time.monotonic()
    subprocess.run(
        [
            *(sys.executable, "-m", "pytest", *suites, "--targets", f"{name}.yaml"),
            *("-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:timeout"),
            *("--summary-json", str(out)),
        ],
        cwd=work,
        capture_output=True,
        timeout=1800,
    )
    took = time.monotonic() - started
    results = json.loads(out.read_text())["results"]
    return took, {(r["check"], r["target"]): r["status"] for r in results}


def testssl_run(port: int, host: str, work: Path) -> tuple[float, int]:
    """testssl.sh's default run: (wall seconds, its exit status)."""
    started = time.monotonic()
    done = subprocess.run(
        ["testssl", "--quiet", "--color", "0", "--warnings", "off", f"{host}:{port}"],
        cwd=work,
        capture_output=True,
        timeout=1800,
    )
    return time.monotonic() - started, done.returncode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--full-runs", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=3.0)
    ap.add_argument("--per-waiting", type=float, default=0.5)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--no-testssl", action="store_true")
    ap.add_argument("--markdown", type=Path)
    args = ap.parse_args()
    lines: list[str] = []

    def say(line: str = "") -> None:
        print(line, flush=True)
        lines.append(line)

    work = Path(tempfile.mkdtemp(prefix="bench-fragile-"))
    pki = make_pki(work)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf = pki.leaf("legacy", ["legacy.test"], key=key, issuer="rsa")
    upstream, server = legacy_s_server(leaf)

    def fragile() -> FragileProxy:
        return FragileProxy(
            (HOST, upstream),
            latency=args.latency,
            per_waiting=args.per_waiting,
            host=FRAGILE_HOST,
        )

    try:
        say("# A fragile TLS server, run after run (issue 23)")
        say()
        say(f"`{' '.join(sys.argv)}`, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, ")
        say(f"load average before: {os.getloadavg()[0]:.1f} (2 cores, shared).")
        say(
            f"Server: Debian's `openssl s_server` (OpenSSL 3, `-cipher ALL:@SECLEVEL=0 "
            f"-min_protocol TLSv1`) behind tests/fragile_proxy.py: one connection at a time, "
            f"{args.latency:g} s per connection plus {args.per_waiting:g} s per client queued "
            f"behind. Targets' timeout {args.timeout:g} s."
        )
        say()
        took, base = suite_run(
            work, "direct", targets(upstream, HOST, pki.bundle, args.timeout, False), False
        )
        broken = sum(s == "broken" for s in base.values())
        say(f"Baseline, the s_server without the proxy: {len(base)} TLS verdicts, ")
        say(f"{broken} broken, {took:.1f} s.")
        say()
        say("| Run | Kind | Wall time | Verdicts | Broken | Same TLS verdicts as baseline |")
        say("|---|---|---:|---:|---:|---|")
        same = times = 0
        tls_times: list[float] = []
        for i in range(1, args.runs + args.full_runs + 1):
            full = i > args.runs
            proxy = fragile()
            try:
                yaml = targets(proxy.port, FRAGILE_HOST, pki.bundle, args.timeout, full)
                took, got = suite_run(work, f"run-{i}", yaml, full)
            finally:
                proxy.close()
            tls = {k: v for k, v in got.items() if k[0].startswith("tls.")}
            equal = tls == base
            same += equal
            times += 1
            if not full:
                tls_times.append(took)
            nbroken = sum(s == "broken" for s in got.values())
            kind = "all areas (TLS, ports, banners)" if full else "TLS suite"
            say(
                f"| {i} | {kind} | {took:.1f} s | {len(got)} | {nbroken} | {'yes' if equal else 'NO'} |"
            )
        say()
        say(f"Identical TLS verdicts: {same} of {times} runs.")
        tls_median = sorted(tls_times)[len(tls_times) // 2] if tls_times else 0.0
        if not args.no_testssl and shutil.which("testssl"):
            proxy = fragile()
            try:
                ssl_took, rc = testssl_run(proxy.port, FRAGILE_HOST, work)
            finally:
                proxy.close()
            say()
            say(f"testssl.sh (`testssl --quiet --color 0 --warnings off`, exit {rc}) on the same ")
            say(f"fragile server: {ssl_took:.1f} s. Harness TLS suite, median of the runs above: ")
            say(f"{tls_median:.1f} s, so **{tls_median / ssl_took:.2f} x testssl.sh**.")
        say()
        say(f"Load average after: {os.getloadavg()[0]:.1f}.")
    finally:
        server.kill()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)
    if args.markdown:
        args.markdown.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
