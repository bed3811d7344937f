"""`harness catalogue [show|refresh]`: the command line over the version catalogue.

Kept apart from the version logic (policy/versions.py), which judges and never prints.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import yaml

from harness.commands import refresh as refresh_mod
from harness.policy import catalogue as cat_mod
from harness.policy.catalogue import Catalogue

USAGE = 4  # the README's exit code for a usage error (bad option, bad input file)


def main(argv: list[str]) -> int:
    """`harness catalogue [show|refresh]`: print the snapshot, or refresh it from endoflife.date."""
    parser = argparse.ArgumentParser(prog="harness catalogue", description=main.__doc__)
    parser.add_argument("action", nargs="?", choices=["show", "refresh"], default="show")
    parser.add_argument(
        "--catalogue",
        metavar="PATH",
        help=f"catalogue file (default: the shipped one, or ${cat_mod.ENV_PATH})",
    )
    parser.add_argument(
        "--source-url",
        default=refresh_mod.DEFAULT_SOURCE,
        help="endoflife.date-style API base; {base}/{product} is fetched (default: %(default)s)",
    )
    parser.add_argument(
        "--output", metavar="PATH", help="where refresh writes (default: --catalogue)"
    )
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds per request")
    args = parser.parse_args(argv)
    path = Path(args.catalogue) if args.catalogue else cat_mod.default_path()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        cat = cat_mod.parse(raw, str(path))
    except (OSError, ValueError, yaml.YAMLError) as exc:
        print(f"harness catalogue: cannot load {path}: {exc}", file=sys.stderr)
        return USAGE
    if args.action == "show":
        _show(cat)
        return 0
    today = dt.date.today()
    try:
        refreshed, report = refresh_mod.refresh(raw, args.source_url, args.timeout, today)
        out = Path(args.output) if args.output else path
        refresh_mod.write(refreshed, out, args.source_url, today)
    except (refresh_mod.RefreshError, ValueError, OSError) as exc:
        print(
            f"harness catalogue refresh failed: {exc}. Nothing was changed; the snapshot of "
            f"{cat.snapshot} stays in use. Fix: run it where {args.source_url} is reachable, "
            "or pass --source-url to a mirror",
            file=sys.stderr,
        )
        return 1
    for line in report:
        print(f"  {line}")
    print(f"refreshed {out}: snapshot of {today}")
    return 0


def _show(cat: Catalogue) -> None:
    print(f"{cat.describe()}")
    note = cat.stale_note(dt.date.today())
    if note:
        print(f"note: {note}")
    print(f"file: {cat.path}")
    print(f"{'product':<16} {'as of':<11} supported lines (latest)       source")
    for p in cat.products.values():
        today = dt.date.today()
        live = [f"{ln.cycle} ({ln.latest or '?'})" for ln in p.lines if not ln.ended(today)]
        print(f"{p.name:<16} {p.as_of!s:<11} {', '.join(live) or 'none':<30} {p.source}")
        for ln in p.lines:
            if ln.source and not ln.ended(today):
                print(f"{'':<16} {ln.cycle} latest {ln.latest}: {ln.source}")
        for bad in p.known_bad:
            print(f"{'':<16} known bad: {', '.join(bad.versions)} ({bad.severity}): {bad.reason}")
    print(f"{'distro':<16} {'as of':<11} releases (regular support / extended)")
    for d in cat.distros.values():
        rel = ", ".join(f"{r.release}: {r.support or '-'}/{r.extended or '-'}" for r in d.releases)
        print(f"{d.name:<16} {d.as_of!s:<11} {rel}")
