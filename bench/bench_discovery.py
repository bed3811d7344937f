"""What discovery adds to a run, per discovered endpoint, beside the TLS probe's own time.

`.venv/bin/python bench/bench_discovery.py [--endpoints 4] [--repeat 3]`

N `openssl s_server` endpoints (half TLS 1.0-only, half default) on a random loopback address.
Two inventories of the same host, each with the same port scan (the endpoints' ports):
  declared    the N TLS endpoints declared, discover: false (the port scan runs beside TLS)
  discovered  nothing declared but the scan, discover: true (the scan runs at collection, the
              TLS endpoints come from it)
Each runs `pytest suites/ -m "tls or ports"` `repeat` times; the wall seconds' median is
printed. Discovery's cost per endpoint is (discovered - declared) / N; the TLS probe's own time
per endpoint is the median of the TLS probe step (from its start to its result) in the Allure
results of the declared runs. The issue's goal: the first is no more than the second.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _servers(d: Path, host: str, n: int) -> tuple[list[int], list[subprocess.Popen[bytes]]]:
    cert, key = d / "c.pem", d / "c.key"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "20"),
            *("-subj", "/CN=bench.test", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    ports, procs = [], []
    for i in range(n):
        port = _free_port(host)
        legacy = ["-tls1", "-cipher", "ALL:@SECLEVEL=0"] if i % 2 == 0 else []
        procs.append(
            subprocess.Popen(
                [
                    *("openssl", "s_server", "-accept", f"{host}:{port}", "-www", "-quiet"),
                    *("-cert", str(cert), "-key", str(key), *legacy),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        ports.append(port)
    deadline = time.monotonic() + 10
    for port in ports:
        while socket.socket().connect_ex((host, port)) != 0:
            if time.monotonic() > deadline:
                raise RuntimeError("openssl s_server did not start")
            time.sleep(0.05)
    return ports, procs


def _targets(host: str, ports: list[int], declared: bool) -> str:
    scan = ",".join(map(str, ports))
    text = f"""version: 1
defaults: {{timeout: 5}}
targets:
  - name: bench
    host: {host}
    ports: {{scan: "{scan}", udp: none, expected: [{scan}]}}
    discover: {str(not declared).lower()}
"""
    if declared:
        text += "    tls:\n" + "".join(f"      - port: {p}\n" for p in ports)
    return text


def _run(d: Path, text: str, name: str) -> tuple[float, list[float]]:
    """Wall seconds of one run, and the TLS probe's seconds per endpoint (Allure steps)."""
    targets, allure = d / f"{name}.yaml", d / f"{name}-allure"
    targets.write_text(text)
    started = time.monotonic()
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", str(ROOT / "suites"), "-p", "no:cacheprovider"),
            *("-m", "tls or ports", "--targets", str(targets), "-q"),
            *("--alluredir", str(allure), "--clean-alluredir"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=d,
    )
    wall = time.monotonic() - started
    if done.returncode not in (0, 1):
        raise RuntimeError(done.stdout[-2000:] + done.stderr[-2000:])
    per_subject: dict[str, float] = {}
    for f in allure.glob("*-result.json"):
        data = json.loads(f.read_text())
        labels = {lb["name"]: lb["value"] for lb in data["labels"]}
        if labels.get("epic") != "tls":
            continue
        params = {p["name"]: p["value"] for p in data.get("parameters", [])}
        for step in data.get("steps", []):
            if step["name"].startswith("sslyze scan of"):  # the TLS probe, start to result
                per_subject[params.get("subject", f.name)] = (step["stop"] - step["start"]) / 1000
    return wall, list(per_subject.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    host = f"127.0.{random.randint(100, 250)}.{random.randint(2, 250)}"
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        ports, procs = _servers(d, host, args.endpoints)
        try:
            walls: dict[str, list[float]] = {"declared": [], "discovered": []}
            tls_times: list[float] = []
            for i in range(args.repeat):
                for mode in walls:  # interleaved, so load on the machine hits both alike
                    wall, tls = _run(d, _targets(host, ports, mode == "declared"), f"{mode}{i}")
                    walls[mode].append(wall)
                    if mode == "declared":
                        tls_times += tls
        finally:
            for p in procs:
                p.kill()
                p.wait()
    n = args.endpoints
    declared, discovered = (statistics.median(walls[m]) for m in ("declared", "discovered"))
    added = (discovered - declared) / n
    tls = statistics.median(tls_times) if tls_times else float("nan")
    print(f"endpoints: {n} TLS on {host}, repeat {args.repeat}, `pytest suites/ -m 'tls or ports'`")
    for mode, values in walls.items():
        runs = ", ".join(f"{v:.1f}" for v in values)
        print(f"  {mode:<10} wall median {statistics.median(values):6.2f} s  (runs: {runs} s)")
    print(f"discovery adds per discovered endpoint: {added:6.2f} s")
    print(f"TLS probe's own time per endpoint:      {tls:6.2f} s (median of {len(tls_times)})")
    print(f"goal (added <= TLS probe time): {'met' if added <= tls else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
