"""targets.yaml -> typed, validated objects, with one readable message per defect.

Unknown keys are errors: a typo must never silently switch a check off. Hosts are checked to be
an IP address or a DNS name, so nothing from the file can ever become a command-line option.
This module reads the file; the models live in inventory_models (and are exported from here),
the checks of single values in inventory_values, the checks across entries in inventory_cross,
and the mapping of an error to its line in inventory_lines.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from harness.errors import InventoryError
from harness.inventory_cross import cross_checks
from harness.inventory_lines import describe, expanded_size, line_of
from harness.inventory_models import (
    Credential,
    Defaults,
    HttpEndpoint,
    Inventory,
    LoginEndpoint,
    Overrides,
    PasswordPolicyEndpoint,
    PortsSpec,
    Settings,
    SshEndpoint,
    Target,
    TlsEndpoint,
    Waiver,
)

__all__ = [
    "MODELS_BY_PATH",
    "Credential",
    "Defaults",
    "HttpEndpoint",
    "Inventory",
    "LoginEndpoint",
    "Overrides",
    "PasswordPolicyEndpoint",
    "PortsSpec",
    "Settings",
    "Target",
    "TlsEndpoint",
    "Waiver",
    "declared_line",
    "load",
    "loads",
    "summary",
]

MAX_FILE_BYTES = 1_000_000  # a targets file is text written by people; anything bigger is a mistake
MAX_NODES = 200_000  # values after alias expansion; thousands of targets fit well below this


# where each model sits in the file, so an unknown key's message can list the allowed ones
MODELS_BY_PATH: dict[tuple[str, ...], type[BaseModel]] = {
    (): Inventory,
    ("defaults",): Defaults,
    ("targets",): Target,
    ("targets", "ports"): PortsSpec,
    ("targets", "tls"): TlsEndpoint,
    ("targets", "http"): HttpEndpoint,
    ("targets", "logins"): LoginEndpoint,
    ("targets", "logins", "credentials"): Credential,
    ("targets", "logins", "password_policy"): PasswordPolicyEndpoint,
    ("targets", "ssh"): SshEndpoint,
    ("waivers",): Waiver,
}


def load(path: str | Path) -> Inventory:
    """Read and validate a targets file, or raise InventoryError with every defect named."""
    path = Path(path)
    shown = str(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InventoryError(
            shown,
            [
                "file not found. Fix: create it (see examples/targets.example.yaml) or pass "
                "--targets PATH"
            ],
        ) from None
    except OSError as exc:
        raise InventoryError(shown, [f"cannot read the file: {exc.strerror}"]) from None
    if size > MAX_FILE_BYTES:
        raise InventoryError(shown, [f"file is {size} bytes; the limit is {MAX_FILE_BYTES}"])
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InventoryError(shown, [f"cannot read the file as UTF-8 text: {exc}"]) from None
    return loads(text, shown, base_dir=path.parent)


def loads(text: str, shown: str = "<string>", base_dir: Path | None = None) -> Inventory:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        line = f"line {exc.problem_mark.line + 1}: " if exc.problem_mark else ""
        raise InventoryError(
            shown, [f"{line}broken YAML: {exc.problem}. Fix: check indentation and quoting"]
        ) from None
    except yaml.YAMLError as exc:
        raise InventoryError(shown, [f"broken YAML: {exc}"]) from None
    if node is not None and expanded_size(node, MAX_NODES) > MAX_NODES:
        raise InventoryError(
            shown,
            [
                f"the document expands to more than {MAX_NODES} values (YAML aliases?). "
                "Fix: write the values out; a targets file needs no aliases"
            ],
        )
    if not isinstance(data, dict):
        raise InventoryError(
            shown,
            ["expected a mapping with the keys version, defaults, targets, waivers"],
        )
    try:
        inv = Inventory.model_validate(data)
    except ValidationError as exc:
        raise InventoryError(
            shown, [describe(e, data, node, MODELS_BY_PATH) for e in exc.errors()]
        ) from None
    except (TypeError, ValueError, RecursionError) as exc:  # pragma: no cover - defensive
        raise InventoryError(shown, [f"cannot validate the file: {exc}"]) from None
    problems = cross_checks(inv, data, node, base_dir)
    if problems:
        raise InventoryError(shown, problems)
    return inv.model_copy(
        update={"path": Path(shown) if shown != "<string>" else None, "lines": _lines(inv, node)}
    )


def _lines(inv: Inventory, node: yaml.Node | None) -> dict[str, int]:
    lines: dict[str, int] = {}
    for i, target in enumerate(inv.targets):
        line = line_of(("targets", i), node)
        if line:
            lines[target.name] = line
        for area in ("tls", "logins"):
            for j in range(len(getattr(target, area))):
                line = line_of(("targets", i, area, j), node)
                if line:
                    lines[f"{target.name}/{area}/{j}"] = line
    return lines


def declared_line(inv: Inventory, target: Target, endpoint: object = None) -> int | None:
    """The line that declares an endpoint (or, failing that, its target) in the targets file."""
    for area in ("tls", "logins"):
        endpoints = getattr(target, area)
        if endpoint is not None and endpoint in endpoints:
            line = inv.lines.get(f"{target.name}/{area}/{endpoints.index(endpoint)}")
            if line:
                return line
    return inv.lines.get(target.name)


def summary(inv: Inventory) -> str:
    n_tls = sum(len(t.tls) for t in inv.targets)
    n_ports = sum(1 for t in inv.targets if t.ports)
    n_http = sum(len(t.http) for t in inv.targets)
    n_logins = sum(len(t.logins) for t in inv.targets)
    return (
        f"{len(inv.targets)} targets, {n_tls} TLS endpoints, {n_ports} port scans, "
        f"{n_http} HTTP endpoints, {n_logins} login endpoints, {len(inv.waivers)} waivers"
    )
