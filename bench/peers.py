"""The command lines of the bench's runs: the harness under pytest, and what its peers are
given so that they do the same work (sslyze's scan commands, hydra's login pairs), and the
budget the harness declares for a silent host."""

from __future__ import annotations

import sys
from pathlib import Path

PY = sys.executable


def sslyze_flags() -> list[str]:
    """The CLI flags of exactly the scan commands the TLS probe queues (HTTPS endpoints)."""
    from sslyze.plugins.scan_commands import ScanCommandsRepository

    from harness.probes.tls.request import scan_commands

    commands = sorted(scan_commands(https=True))
    return [
        "--" + ScanCommandsRepository.get_implementation_cls(c).cli_connector_cls._cli_option
        for c in commands
    ]


def pytest_cmd(suite: str, targets: Path, alluredir: Path) -> list[str]:
    # hypothesis and pytest-timeout are dev-only plugins of this checkout; a user's install of
    # the harness does not load them, so the benchmark leaves them out too
    return [
        PY,
        "-m",
        "pytest",
        suite,
        "--targets",
        str(targets),
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:hypothesispytest",
        "-p",
        "no:timeout",
        "-p",
        "stamps_plugin",
        "--alluredir",
        str(alluredir),
        "--clean-alluredir",
    ]


def hydra_pairs(budget_of: Path) -> tuple[list[tuple[str, str]], int]:
    """The pairs the logins probe tries on an http-basic endpoint, within its attempt budget."""
    from harness.inventory import LoginEndpoint, load
    from harness.probes.logins.lists import plan

    inv = load(budget_of)
    target = next(t for t in inv.targets if t.logins)
    ep = target.logins[0]
    budget = inv.settings(target, ep).login_attempt_budget
    probe_ep = LoginEndpoint(kind="http-basic", url=ep.url)
    pairs = [(c.username, c.password) for c in plan(probe_ep, None)]
    return pairs[: budget - 1], budget  # the probe spends one attempt on a control password


def declared_budget(targets: Path, name: str) -> dict[str, float]:
    """What the harness declares a silent host may cost, per probe kind, in seconds."""
    from harness.inventory import load

    inv = load(targets)
    settings = inv.settings(inv.target(name))
    budget = {"tls": settings.timeout}  # one preflight handshake (harness/probes/tls/preflight)
    try:
        from harness.probes.ports import Budget

        budget["ports"] = Budget.of(settings).host_timeout
    except ImportError:
        pass
    return budget
