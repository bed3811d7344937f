"""How long `harness validate` takes on a large targets file (issue 21).

    .venv/bin/python bench/validate_scale.py --repeat 3 [--code /work/main]

Writes a valid targets file just under the 1 MB limit (each target with ports, two TLS
endpoints, an HTTP URL and a login, like a fleet inventory), plus a same-sized file of plain
targets without any alias, then times `python -m harness.cli validate` on each: wall time of
the whole process (interpreter start included) and its CPU time (user + system, which varies
less on a shared machine), medians of --repeat runs. --code DIR runs another checkout's harness
package with this interpreter (PYTHONPATH=DIR), to compare before and after under the same
load. Prints the figures; nothing is asserted here.
"""

from __future__ import annotations

import argparse
import os
import resource
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


def time_validate(path: Path, repeat: int, code: str | None) -> tuple[float, float, int, str]:
    """Median wall time and median CPU time (user + system) of the process, exit code, output."""
    env = {**os.environ, "PYTHONPATH": code} if code else None
    times = []
    cpus = []
    code = 0
    out = ""
    for _ in range(repeat):
        start = time.perf_counter()
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(
            [sys.executable, "-m", "harness.cli", "validate", str(path)],
            capture_output=True,
            text=True,
            check=False,
            env=env,
            cwd=path.parent,  # `-m` puts the working directory first on sys.path
        )
        times.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime)
        code = done.returncode
        out = (done.stdout or done.stderr).strip().splitlines()[0][:160]
    return statistics.median(times), statistics.median(cpus), code, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--code", help="a checkout whose harness package to time instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for label, make in (("fleet", fleet_target), ("plain", plain_target)):
            path = Path(tmp) / f"{label}.yaml"
            n = write(path, make)
            seconds, cpu, code, out = time_validate(path, args.repeat, args.code)
            print(
                f"{label}: {n} targets, {path.stat().st_size} bytes: validate {seconds:.2f} s "
                f"wall, {cpu:.2f} s CPU (medians of {args.repeat}), exit {code}: {out}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
