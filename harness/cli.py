"""The `harness` console script: validate, checks, lab, report, sarif, catalogue, known-hosts."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from harness.areas import Area
from harness.errors import InventoryError


def _validate(args: argparse.Namespace) -> int:
    from harness.inventory import load, summary

    if args.file and args.targets and args.file != args.targets:
        print(
            f"harness validate: two targets files given ({args.file}, {args.targets}). "
            "Fix: pass one, as PATH or --targets PATH",
            file=sys.stderr,
        )
        return USAGE
    args.file = args.file or args.targets or "targets.yaml"
    try:
        inv = load(args.file)
    except InventoryError as exc:
        print(exc.render(), file=sys.stderr)
        return 4
    from harness.inventory import warnings as inventory_warnings

    today = dt.date.today()
    warned = inventory_warnings.warnings(inv, today, os.environ)
    n_expired = len(inventory_warnings.expired(inv, today))
    counts = {"expired waivers": n_expired, "unset password_env": len(warned) - n_expired}
    print(
        f"OK {args.file}: {summary(inv)}" + "".join(f"; {k}: {n}" for k, n in counts.items() if n)
    )
    # warnings leave the exit status 0 (docs/targets.md): validate often runs without the secrets
    for text in warned:
        print(f"warning: {args.file}: {text}", file=sys.stderr)
    return 0


def _checks(args: argparse.Namespace) -> int:
    from harness.checks import catalogue

    if args.explain or args.markdown:
        from harness.output import checks_doc

        if args.markdown:
            print(checks_doc.markdown(), end="")
            return 0
        text = checks_doc.explain(args.explain)
        if text is None:
            print(
                f"harness checks: unknown check id {args.explain!r}. Fix: pick one of "
                "`harness checks` (for example tls.protocols).",
                file=sys.stderr,
            )
            return 2
        print(text, end="")
        return 0
    for check in catalogue().values():
        if args.area and check.area != args.area:
            continue
        print(f"{check.id:<28} {check.severity.value:<9} {check.title}")
    return 0


def _lab(args: argparse.Namespace) -> int:
    from harness.lab import control

    action: Callable[[Path], int] = getattr(control, args.action)
    return action(Path(args.dir))


# Subcommands in harness.commands, imported only when used; they parse their own options.
DELEGATED = {
    "report": ("harness.commands.report:main", "generate the Allure HTML report, keeping history"),
    "sarif": ("harness.commands.sarif:main", "export findings from allure-results as SARIF"),
    "catalogue": (
        "harness.commands.catalogue:main",
        "show or refresh the version catalogue",
    ),
    "known-hosts": (
        "harness.commands.known_hosts:main",
        "read SSH host keys once and write a known_hosts file to pin them",
    ),
}


def _run_delegated(name: str, argv: list[str]) -> int:
    module_name, _, attr = DELEGATED[name][0].partition(":")
    func: Callable[[list[str]], int] = getattr(importlib.import_module(module_name), attr)
    return func(argv)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="harness", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("validate", help="validate a targets file and print a one-line summary")
    p.add_argument("file", nargs="?", help="the targets file (default: targets.yaml)")
    # the spelling the run and validate's own hints use, accepted here too
    p.add_argument("--targets", metavar="PATH", help="the targets file, as the run takes it")
    p.set_defaults(func=_validate)
    p = sub.add_parser("checks", help="list the check catalogue")
    p.add_argument("--area", choices=[a.value for a in Area])
    p.add_argument(
        "--explain",
        metavar="ID",
        help="print one check: meaning, severity, how it is measured, fix, references, and "
        "what makes it broken",
    )
    p.add_argument(
        "--markdown",
        action="store_true",
        help="print the whole checks reference as Markdown (docs/checks.md is this output)",
    )
    p.set_defaults(func=_checks)
    p = sub.add_parser("lab", help="start, stop or inspect the demo lab on loopback")
    p.add_argument("action", choices=["up", "down", "status"])
    p.add_argument("--dir", default="reports/lab", help="where the lab keeps its PKI, pid and log")
    p.set_defaults(func=_lab)
    for name, (_, text) in DELEGATED.items():
        sub.add_parser(name, help=f"{text} (see: harness {name} --help)")
    return parser


USAGE = 4  # the README's exit code for a usage error; argparse's own is 2, "interrupted" there


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        if args_list and args_list[0] in DELEGATED:
            return _run_delegated(args_list[0], args_list[1:])
        args = build_parser().parse_args(args_list)
    except SystemExit as exc:  # argparse: 0 after --help, 2 after printing a usage error
        return USAGE if exc.code == 2 else int(exc.code or 0)
    code: int = args.func(args)
    return code


def run() -> None:
    """Console-script entry: a closed pipe (`harness checks | head`) ends quietly."""
    try:
        code = main()
    except BrokenPipeError:
        sys.stderr.close()
        code = 0
    sys.exit(code)


if __name__ == "__main__":
    run()
