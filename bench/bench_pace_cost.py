"""What the TLS probe's pacing (issue 23) costs on healthy servers: this checkout's TLS suite
against another checkout's (the code before), alternating, on the same nginx endpoints.

Starts nginx with N TLS endpoints (bench_tls.py's: one per loopback address, half hardened, half
legacy), then runs `pytest suites/test_tls.py` from each checkout in turn, `--repeat` times, and
prints each run, the medians and their ratio, and how many endpoints of this checkout's runs
went serial (none should: a healthy server answers every handshake in time).

    .venv/bin/python bench/bench_pace_cost.py --other /path/to/main --endpoints 10 --repeat 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_tls import SNI, free_ports, start_nginx
from cryptography.hazmat.primitives.asymmetric import ec

from harness.lab.pki import make_ca, make_leaf

ROOT = Path(__file__).resolve().parents[1]
SERIAL = "measuring it one connection at a time"  # the TLS probe's progress line


def suite(checkout: Path, d: Path) -> tuple[float, int]:
    """One TLS-suite run with `checkout`'s harness: (wall seconds, endpoints gone serial)."""
    env = dict(os.environ, PYTHONPATH=str(checkout))  # before the installed (editable) harness
    started = time.monotonic()
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", str(checkout / "suites" / "test_tls.py")),
            *("--targets", "targets.yaml", "-p", "no:cacheprovider", "-q"),
            *("-p", "no:hypothesispytest", "-p", "no:timeout"),
        ],
        cwd=d,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return time.monotonic() - started, done.stdout.count(SERIAL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--other", type=Path, required=True, help="the checkout to compare with")
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-pace-") as tmp:
        d = Path(tmp)
        ca = make_ca(d)
        cert = make_leaf(
            d / "bench.pem", [SNI], issuer=ca, key=ec.generate_private_key(ec.SECP256R1())
        )
        ports = free_ports(args.endpoints)
        nginx = start_nginx(d, ports, cert)
        try:
            lines = ["version: 1", "defaults: {ca_bundle: ca.pem, timeout: 5}", "targets:"]
            for i, (ip, port) in enumerate(ports):
                lines.append(f"  - {{name: ep{i:02d}, host: {ip}, tls: [{{port: {port}, ")
                lines[-1] += f"server_name: {SNI}}}]}}"
            (d / "targets.yaml").write_text("\n".join(lines) + "\n")
            print(f"load average at the start: {os.getloadavg()[0]:.1f}", flush=True)
            here, there, serial = [], [], 0
            for i in range(args.repeat):  # alternate, so load drifts hit both alike
                took, went = suite(ROOT, d)
                here.append(took)
                serial += went
                there.append(suite(args.other, d)[0])
                print(f"run {i + 1}: this {here[-1]:.2f} s, other {there[-1]:.2f} s", flush=True)
        finally:
            nginx.terminate()  # the master stops its workers (a killed master leaves them)
            nginx.wait(30)
    a, b = statistics.median(here), statistics.median(there)
    print(f"median: this {a:.2f} s, other {b:.2f} s: {a / b:.3f} x")
    print(f"endpoints measured serially in this checkout's runs: {serial}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
