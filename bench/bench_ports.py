"""Wall time of a full port scan of one loopback host: the harness against nmap's own run.

Starts listeners on 127.0.60.1 (SSH, FTP, SMTP, POP3, HTTP and HTTPS answering like real
daemons), then measures, in one run and `--repeat` times each:
  1. nmap alone, one run with the flags the harness builds for `scan: all` (connect scan of
     all 65535 ports, -sV --version-intensity 2, the same retries and host timeout);
  2. the harness's port probe (PortsProbe: the connect scan, then -sV per open port in
     parallel), in process;
  3. the ports and banners suites through pytest (probe, banner grabs, judgement, reporting).
and prints the medians and the differences (goal: the harness within a few seconds of nmap).
Usage: .venv/bin/python bench/bench_ports.py [--repeat 3] [--timeout 10]
"""

from __future__ import annotations

import argparse
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from harness.errors import ProbeFailure
from harness.inventory import loads
from harness.lab.net_services import http_banner, tcp_service
from harness.lab.pki import make_ca, make_leaf
from harness.probes.nmap_scan import VERSION_INTENSITY, scanner_argv
from harness.probes.ports import Budget, PortsProbe, nmap_arguments, port_args
from harness.probes.ports_model import PortScan
from harness.session.subjects import subjects

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.60.1"


class _Ctx:
    def __init__(self) -> None:
        self.results: dict[str, object] = {}

    def begin(self, key: str) -> None:
        pass

    def publish(self, key: str, result: object) -> None:
        self.results[key] = result

    def progress(self, message: str) -> None:
        pass

    def result_of(self, probe: str, key: str) -> object:
        raise AssertionError

    def attach(self, key: str, name: str, body: str | bytes, mime: str) -> None:
        pass


def start_listeners(d: Path) -> list[object]:
    ca = make_ca(d)
    leaf = make_leaf(d / "leaf.pem", [HOST], issuer=ca, key=ec.generate_private_key(ec.SECP256R1()))
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(leaf, leaf.with_suffix(".key"))
    return [
        tcp_service(HOST, 0, greeting=b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10\r\n"),
        tcp_service(HOST, 0, greeting=b"220 (vsFTPd 3.0.3)\r\n"),
        tcp_service(HOST, 0, greeting=b"220 mx.bench.test ESMTP Exim 4.96\r\n"),
        tcp_service(HOST, 0, greeting=b"+OK Dovecot ready.\r\n"),
        http_banner(HOST, headers=(("Server", "nginx/1.22.1"),)),
        http_banner(HOST, headers=(("Server", "Apache/2.4.57 (Debian)"),), tls=tls),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=10.0, help="the target's timeout")
    args = parser.parse_args()
    nmap = shutil.which("nmap")
    if nmap is None:
        raise SystemExit("nmap is not installed: apt-get install nmap")
    with tempfile.TemporaryDirectory(prefix="bench-ports-") as tmp:
        d = Path(tmp)
        servers = start_listeners(d)
        targets = (
            f"version: 1\ndefaults: {{timeout: {args.timeout}}}\ntargets:\n"
            f"  - {{name: bench, host: {HOST}, ports: {{expected: [], scan: all}}}}\n"
        )
        (d / "targets.yaml").write_text(targets)
        inv = loads(targets)
        jobs = subjects(inv, "ports")
        budget = Budget.of(jobs[0].settings)
        # the argv run_nmap runs for the probe's connect scan
        base = scanner_argv(nmap, HOST, nmap_arguments(HOST, port_args("all"), budget))
        own = [*base, "-sV", "--version-intensity", str(VERSION_INTENSITY)]
        print("nmap alone: " + " ".join(own[1:]))
        suite = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"]
        suite += ["-p", "no:hypothesispytest", "--targets", "targets.yaml"]
        suite += [str(ROOT / "suites" / "test_ports.py"), str(ROOT / "suites" / "test_banners.py")]
        times: dict[str, list[float]] = {"nmap": [], "probe": [], "suites": []}
        open_counts: set[int] = set()
        for _ in range(args.repeat):
            started = time.monotonic()
            subprocess.run(own, capture_output=True, check=True)
            times["nmap"].append(time.monotonic() - started)
            ctx = _Ctx()
            started = time.monotonic()
            PortsProbe().run(jobs, ctx)
            times["probe"].append(time.monotonic() - started)
            result = ctx.results["bench"]
            if isinstance(result, ProbeFailure):
                raise SystemExit(f"the probe failed: {result}")
            assert isinstance(result, PortScan)
            open_counts.add(len(result.open_ports))
            started = time.monotonic()
            subprocess.run(suite, cwd=d, capture_output=True)
            times["suites"].append(time.monotonic() - started)
        for server in servers:
            server.shutdown()  # type: ignore[attr-defined]
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"open ports found by the probe: {sorted(open_counts)} (listeners: 6, plus any 0.0.0.0)")
    print(f"{'run':<44} {'median':>8}  all runs")
    for name, label in (
        ("nmap", "nmap alone (same flags, one run)"),
        ("probe", "harness port probe (scan + -sV per port)"),
        ("suites", "harness ports+banners suites via pytest"),
    ):
        runs = ", ".join(f"{t:.1f}" for t in times[name])
        print(f"{label:<44} {med[name]:>7.1f}s  {runs}")
    print(f"probe - nmap:  {med['probe'] - med['nmap']:+.1f} s")
    print(f"suites - nmap: {med['suites'] - med['nmap']:+.1f} s (goal: within a few seconds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
