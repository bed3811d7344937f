"""`harness known-hosts targets.yaml`: read each SSH login's host keys once and write a
known_hosts file to pin them (trust on first use).

Run it over a network you trust, compare the printed fingerprints with the servers' own
(`ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub` on each), then declare the file on each ssh
login (`known_hosts: known_hosts`). From then on, declared credentials go only to a server
that presents a pinned key.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.errors import InventoryError

USAGE = 4  # the README's exit code for a usage error (bad option, bad input file)


def main(argv: list[str]) -> int:
    from harness.inventory import load
    from harness.probes.logins.model import Unmeasurable
    from harness.probes.logins.ssh import SshClient
    from harness.session.subjects import subjects

    parser = argparse.ArgumentParser(prog="harness known-hosts", description=__doc__)
    parser.add_argument("targets", nargs="?", default="targets.yaml")
    parser.add_argument(
        "--output", help="the known_hosts file to write (default: known_hosts beside the targets)"
    )
    parser.add_argument("--force", action="store_true", help="replace an existing file")
    args = parser.parse_args(argv)
    try:
        inv = load(args.targets)
    except InventoryError as exc:
        print(exc.render(), file=sys.stderr)
        return 4
    base_dir = Path(args.targets).parent
    out = Path(args.output) if args.output else base_dir / "known_hosts"
    if out.exists() and not args.force:
        # replacing pinned keys silently would undo the pin: only on request
        print(f"{out} exists; pass --force to replace it, or --output PATH", file=sys.stderr)
        return USAGE
    lines: list[str] = []
    done: set[str] = set()
    failed = 0
    jobs = [j for j in subjects(inv, "logins") if getattr(j.endpoint, "kind", "") == "ssh"]
    for job in jobs:
        client = SshClient(job, base_dir)
        name = client.host if client.port == 22 else f"[{client.host}]:{client.port}"
        if name in done:
            continue
        done.add(name)
        try:
            keys = client.host_keys()
        except Unmeasurable as exc:
            print(f"{job.key}: {exc.reason}", file=sys.stderr)
            failed += 1
            continue
        if not keys:
            print(f"{job.key}: {name} completed no SSH handshake", file=sys.stderr)
            failed += 1
        for key in keys:
            lines.append(f"{name} {key.get_name()} {key.get_base64()}")
            print(f"{job.key} {name} {key.get_name()} {key.fingerprint}")
    if not jobs:
        print(f"{args.targets} declares no ssh login", file=sys.stderr)
        return USAGE
    out.write_text("".join(line + "\n" for line in lines))
    print(
        f"wrote {len(lines)} keys to {out}; check the fingerprints above with the servers' "
        f"owners, then add `known_hosts: {out.name}` to each ssh login"
    )
    return 1 if failed else 0
