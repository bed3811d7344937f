"""Wall time of the TLS suite against the sslyze CLI and testssl.sh, on the same local endpoints.

Starts nginx with N TLS endpoints, one per loopback address 127.0.30.x (half hardened, half
legacy; one host each, as the harness limits connections per host), then measures in
one run:
  1. the TLS suite: `pytest suites/test_tls.py` (every TLS check per endpoint, one probe pass);
  2. the sslyze CLI with the scan commands the TLS probe queues (bench/peers.py reads them from
     harness.probes.tls.request), on the same endpoints;
  3. testssl.sh's default run on one endpoint (it takes about a minute per endpoint).
and prints the ratios (goals: suite <= 1.3 x sslyze; suite >= 30 x faster than testssl.sh per
endpoint). Usage: .venv/bin/python bench/bench_tls.py [--endpoints 10] [--repeat 3] [--testssl-timeout 180]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from fleet import HARDENED, LEGACY  # one definition of the two nginx TLS configurations
from peers import sslyze_flags

from harness.lab.pki import make_ca, make_leaf

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
SNI = "bench.test"


def free_ports(n: int) -> list[tuple[str, int]]:
    """(address, free port) on n distinct loopback addresses: n hosts, as in a real fleet."""
    socks = [socket.socket() for _ in range(n)]
    for i, s in enumerate(socks):
        s.bind((f"127.0.30.{1 + i}", 0))
    ports = [(str(s.getsockname()[0]), int(s.getsockname()[1])) for s in socks]
    for s in socks:
        s.close()
    return ports


def start_nginx(d: Path, ports: list[tuple[str, int]], cert: Path) -> subprocess.Popen[bytes]:
    servers = "".join(
        f"""
  server {{
    listen {ip}:{port} ssl;
    server_name {SNI};
    ssl_certificate {cert};
    ssl_certificate_key {cert.with_suffix(".key")};{HARDENED if i % 2 == 0 else LEGACY}
    location / {{ return 200 "bench\\n"; }}
  }}"""
        for i, (ip, port) in enumerate(ports)
    )
    conf = d / "nginx.conf"
    conf.write_text(
        f"""worker_processes 2;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {d}/tmp; proxy_temp_path {d}/tmp; fastcgi_temp_path {d}/tmp;
  uwsgi_temp_path {d}/tmp; scgi_temp_path {d}/tmp;{servers}
}}
"""
    )
    (d / "tmp").mkdir()
    proc = subprocess.Popen(["nginx", "-p", str(d), "-c", str(conf), "-g", "daemon off;"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(ports[-1], timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"nginx did not start; see {d}/error.log")


def timed(cmd: list[str], cwd: Path, timeout: float | None = None) -> tuple[float, int | None]:
    started = time.monotonic()
    try:
        rc: int | None = subprocess.run(
            cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout
        ).returncode
    except subprocess.TimeoutExpired:
        rc = None
    return time.monotonic() - started, rc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument("--testssl-timeout", type=float, default=180.0)
    parser.add_argument("--repeat", type=int, default=3, help="runs of suite and sslyze (median)")
    args = parser.parse_args()
    if not shutil.which("nginx"):
        raise SystemExit("nginx is not installed")
    with tempfile.TemporaryDirectory(prefix="bench-tls-") as tmp:
        d = Path(tmp)
        ca = make_ca(d)
        cert = make_leaf(
            d / "bench.pem", [SNI], issuer=ca, key=ec.generate_private_key(ec.SECP256R1())
        )
        ports = free_ports(args.endpoints)
        nginx = start_nginx(d, ports, cert)
        try:
            targets = ["version: 1", "defaults: {ca_bundle: ca.pem, timeout: 5}", "targets:"]
            for i, (ip, port) in enumerate(ports):
                targets += [
                    f"  - name: ep{i:02d}",
                    f"    host: {ip}",
                    f"    tls: [{{port: {port}, server_name: {SNI}}}]",
                ]
            (d / "targets.yaml").write_text("\n".join(targets) + "\n")
            (d / "one.yaml").write_text("\n".join(targets[:6]) + "\n")
            suite = [PY, "-m", "pytest", str(ROOT / "suites" / "test_tls.py")]
            # hypothesis is a dev-only dependency whose pytest plugin costs ~0.5 s at start-up;
            # a user's install of the harness does not have it, so the bench leaves it out
            suite += ["--targets", "targets.yaml", "-p", "no:cacheprovider", "-q"]
            suite += ["-p", "no:hypothesispytest"]
            # the endpoints are HTTPS (no STARTTLS), so http_headers is queued too
            flags = sslyze_flags()
            sslyze = [PY, "-m", "sslyze", *flags, "--certinfo_ca_file", "ca.pem", "--quiet"]
            sslyze += [f"{SNI}:{port}{{{ip}}}" for ip, port in ports]
            testssl = ["testssl", "--quiet", "--color", "0", "--warnings", "off"]
            testssl += ["--sneaky", "{}:{}".format(*ports[0])]
            timed([*sslyze[:3], "--help"], d)  # warm the import cache for both Python runs
            suite_runs, sslyze_runs = [], []
            for _ in range(args.repeat):  # alternate, so load drifts hit both alike
                suite_runs.append(timed(suite, d)[0])
                sslyze_runs.append(timed(sslyze, d)[0])
            t_suite, t_sslyze = statistics.median(suite_runs), statistics.median(sslyze_runs)
            t_one, _ = timed([*suite[:4], "--targets", "one.yaml", *suite[6:]], d)
            t_testssl, rc = timed(testssl, d, args.testssl_timeout)
        finally:
            nginx.terminate()
            nginx.wait(10)
    n = args.endpoints
    per_endpoint = t_suite / n
    print(f"endpoints: {n} nginx TLS endpoints on 127.0.30.x (half hardened, half legacy)")
    runs = f"median of {args.repeat}"
    for label, median, each in (
        (f"TLS suite ({n} endpoints, pytest):", t_suite, suite_runs),
        (f"sslyze CLI (the probe's {len(flags)} scan commands):", t_sslyze, sslyze_runs),
    ):
        shown = ", ".join(f"{t:.2f}" for t in each)
        print(f"{label:<46}{median:6.2f} s  ({runs}: {shown})")
    print(f"  ratio suite / sslyze:        {t_suite / t_sslyze:5.2f} x   (goal <= 1.3)")
    note = " (hit the timeout: a lower bound)" if rc is None else ""
    print(f"testssl.sh, 1 endpoint:                       {t_testssl:6.2f} s{note}")
    print(f"TLS suite per endpoint (run of {n}):            {per_endpoint:6.2f} s")
    print(f"  testssl.sh / suite per endpoint:  {t_testssl / per_endpoint:5.1f} x   (goal >= 30)")
    print(f"TLS suite on that one endpoint alone:         {t_one:6.2f} s")
    print(f"  testssl.sh / suite, one endpoint: {t_testssl / t_one:5.1f} x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
