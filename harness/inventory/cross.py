"""The checks across entries of targets.yaml that no single model can make: unique target
names, fields that apply to one login kind only, files that must exist beside the targets file,
and waivers that name a known check and a declared target."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from harness.checks import catalogue
from harness.inventory.lines import did_you_mean, locate, shown
from harness.inventory.models import Inventory, Target


def cross_checks(
    inv: Inventory, data: dict[str, Any], node: yaml.Node | None, base_dir: Path | None
) -> list[str]:
    problems: list[str] = []
    seen: dict[str, int] = {}
    for i, target in enumerate(inv.targets):
        if target.name in seen:
            problems.append(
                locate(("targets", i, "name"), data, node)
                + f"duplicate target name {target.name!r} (first used by targets[{seen[target.name]}])"
                ". Fix: give every target a unique name"
            )
        else:
            seen[target.name] = i
        problems += _discovery(i, target, data, node)
        for j, login in enumerate(target.logins):
            if login.snmp_write_check and login.kind != "snmp":
                problems.append(
                    locate(("targets", i, "logins", j, "snmp_write_check"), data, node)
                    + f"snmp_write_check applies to kind snmp only, not {login.kind}. Fix: remove it"
                )
            if login.kind == "snmp" and login.url is not None:
                problems.append(
                    locate(("targets", i, "logins", j, "url"), data, node)
                    + "an snmp login takes 'port' (default 161/udp), not 'url'. Fix: use port"
                )
            if login.kind.startswith("http") and login.url is None:
                problems.append(
                    locate(("targets", i, "logins", j, "kind"), data, node)
                    + f"a {login.kind} login needs 'url'. Fix: add url: https://host/path"
                )
    ca_paths: list[tuple[tuple[Any, ...], Path]] = []
    if inv.defaults.ca_bundle:
        ca_paths.append((("defaults", "ca_bundle"), inv.defaults.ca_bundle))
    for i, target in enumerate(inv.targets):
        if target.ca_bundle:
            ca_paths.append((("targets", i, "ca_bundle"), target.ca_bundle))
        for j, ep in enumerate(target.tls):
            if ep.ca_bundle:
                ca_paths.append((("targets", i, "tls", j, "ca_bundle"), ep.ca_bundle))
    for i, target in enumerate(inv.targets):
        for j, login in enumerate(target.logins):
            if login.known_hosts:
                ca_paths.append((("targets", i, "logins", j, "known_hosts"), login.known_hosts))
    for loc, ca in ca_paths:
        resolved = ca if ca.is_absolute() or base_dir is None else base_dir / ca
        if not resolved.is_file():
            problems.append(
                locate(loc, data, node)
                + f"{loc[-1]} file {shown(str(ca))} does not exist. Fix: point it at "
                + ("a PEM file" if loc[-1] == "ca_bundle" else "a known_hosts file")
            )
    known = catalogue()
    for k, waiver in enumerate(inv.waivers):
        if waiver.check not in known:
            problems.append(
                locate(("waivers", k, "check"), data, node)
                + f"unknown check id {shown(waiver.check)}"
                + (did_you_mean(waiver.check, list(known)) or ".")
                + " Fix: use an id from the catalogue (harness checks)"
            )
        if waiver.target not in seen:
            problems.append(
                locate(("waivers", k, "target"), data, node)
                + f"waiver names target {shown(waiver.target)}, which is not declared"
                + (did_you_mean(waiver.target, list(seen)) or ".")
                + " Fix: use the name of a declared target"
            )
    return problems


def _discovery(i: int, target: Target, data: dict[str, Any], node: yaml.Node | None) -> list[str]:
    """discover needs a port scan to read; discovered_logins needs discovery."""
    if target.discover and target.ports is None:
        return [
            locate(("targets", i, "discover"), data, node)
            + "discover: true finds services with the port scan, and this target has none. "
            "Fix: add ports: {scan: all} (or a port range), or remove discover"
        ]
    if target.discovered_logins and not target.discovers:
        return [
            locate(("targets", i, "discovered_logins"), data, node)
            + "discovered_logins applies to discovered services, and discovery is off here "
            "(discover: false, or ports.scan is not 'all'). Fix: add discover: true, or remove "
            "discovered_logins"
        ]
    return []
