"""How long `harness validate` takes on a large targets file (issue 21).

    .venv/bin/python bench/validate_scale.py --repeat 3 [--code /work/main]

Writes a valid targets file just under the 1 MB limit (each target with ports, two TLS
endpoints, an HTTP URL and a login, like a fleet inventory), plus a same-sized file of plain
targets without any alias, then times the `harness validate` console script on each (wall
time of the whole process, interpreter start included; median of --repeat runs). Prints the
figures; nothing is asserted here.
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

LIMIT = 1_000_000


def fleet_target(i: int) -> str:
    host = f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"
    return (
        f"  - name: web-{i:05d}\n"
        f"    host: {host}\n"
        "    ports: {expected: [22, 443], scan: top-100}\n"
        "    tls: [{port: 443}, {port: 25, starttls: smtp}]\n"
        f"    http: [{{url: 'https://{host}/'}}]\n"
        f"    logins: [{{kind: http-basic, url: 'https://{host}/admin'}}]\n"
    )


def plain_target(i: int) -> str:
    return f"  - name: h{i:06d}\n    host: 127.0.{i // 256 % 256}.{i % 256}\n    tags: [a, b, c]\n"


def write(path: Path, make: object) -> int:
    """Targets until the file would pass the size limit; returns how many."""
    assert callable(make)
    parts = ["version: 1\ntargets:\n"]
    size = len(parts[0])
    n = 0
    while True:
        chunk = make(n)
        if size + len(chunk) > LIMIT - 100:
            break
        parts.append(chunk)
        size += len(chunk)
        n += 1
    path.write_text("".join(parts))
    return n


def time_validate(path: Path, repeat: int, code: str | None) -> tuple[float, int, str]:
    env = {**os.environ, "PYTHONPATH": code} if code else None
    times = []
    code = 0
    out = ""
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "harness.cli", "validate", str(path)],
            capture_output=True,
            text=True,
            check=False,
            env=env,
        )
        times.append(time.perf_counter() - start)
        code = done.returncode
        out = (done.stdout or done.stderr).strip().splitlines()[0][:160]
    return statistics.median(times), code, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--code", help="a checkout whose harness package to time instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for label, make in (("fleet", fleet_target), ("plain", plain_target)):
            path = Path(tmp) / f"{label}.yaml"
            n = write(path, make)
            seconds, code, out = time_validate(path, args.repeat, args.code)
            print(
                f"{label}: {n} targets, {path.stat().st_size} bytes: validate {seconds:.2f} s "
                f"(median of {args.repeat}), exit {code}: {out}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
