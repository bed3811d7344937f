"""targets.yaml -> typed, validated objects, with one readable message per defect.

Unknown keys are errors: a typo must never silently switch a check off. Hosts are checked to be
an IP address or a DNS name, so nothing from the file can ever become a command-line option.
This module reads the file; the YAML parse and what it refuses live in inventory.parse, the
models in inventory.models (and are exported from here), the checks of single values in
inventory.values, the checks across entries in inventory.cross, and the mapping of an error to
its line in inventory.lines.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from harness.errors import InventoryError
from harness.inventory import parse
from harness.inventory.cross import cross_checks
from harness.inventory.lines import clip, describe, line_of, locate
from harness.inventory.models import (
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
        text = _read(path, shown).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InventoryError(
            shown, [f"cannot read the file as UTF-8 text: {exc}. Fix: save it as UTF-8"]
        ) from None
    return loads(text, shown, base_dir=path.parent)


def _read(path: Path, shown: str) -> bytes:
    """The file's bytes, counted as read (a size from stat() says nothing about /dev/zero).

    Only a regular file is read: a FIFO, a terminal or a device could block or never end. The
    open never blocks (O_NONBLOCK), so a FIFO without a writer is refused, not waited on."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise InventoryError(
            shown,
            [
                "file not found. Fix: create it (see examples/targets.example.yaml) or pass "
                "--targets PATH"
            ],
        ) from None
    except OSError as exc:
        raise InventoryError(
            shown,
            [f"cannot read the file: {exc.strerror}. Fix: check the path and its permissions"],
        ) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InventoryError(
                shown,
                [
                    "not a regular file (a directory, pipe or device); a pipe or device may "
                    "never end. Fix: write the targets to a file and pass its path"
                ],
            )
        chunks: list[bytes] = []
        count = 0
        while chunk := os.read(fd, min(1 << 16, MAX_FILE_BYTES + 1 - count)):
            chunks.append(chunk)
            count += len(chunk)
            if count > MAX_FILE_BYTES:
                raise InventoryError(
                    shown,
                    [
                        f"file is over the limit of {MAX_FILE_BYTES} bytes. Fix: split the "
                        "fleet into several targets files"
                    ],
                )
        return b"".join(chunks)
    except OSError as exc:
        raise InventoryError(
            shown,
            [f"cannot read the file: {exc.strerror}. Fix: check the path and its permissions"],
        ) from None
    finally:
        os.close(fd)


def loads(text: str, shown: str = "<string>", base_dir: Path | None = None) -> Inventory:
    node, data = _parse(text, shown)
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


def _place(defect: parse.Defect, data: Any, node: yaml.Node) -> str:
    where = locate(defect.loc, data, node)
    if defect.line and not where.startswith("line "):
        where = f"line {defect.line}: {where}"
    return where + defect.text


def _parse(text: str, shown: str) -> tuple[yaml.Node | None, Any]:
    """The node tree (for line numbers) and the data, from one parse."""
    try:
        node, loader = parse.compose(text)
        if node is None:
            loader.dispose()
            return None, None
        defects = parse.survey(node)
        if any(d.before_data for d in defects):  # building the data would crash or explode
            loader.dispose()
            raise InventoryError(shown, [_place(d, None, node) for d in defects])
        data = parse.construct(loader, node)
    except yaml.MarkedYAMLError as exc:
        line = f"line {exc.problem_mark.line + 1}: " if exc.problem_mark else ""
        raise InventoryError(
            shown,
            [f"{line}broken YAML: {clip(str(exc.problem))}. Fix: check indentation and quoting"],
        ) from None
    except yaml.YAMLError as exc:
        raise InventoryError(shown, [f"broken YAML: {clip(str(exc))}"]) from None
    except UnicodeError:  # only from loads() given a str that no file could hold
        raise InventoryError(
            shown, ["the text is not valid Unicode. Fix: save it as UTF-8"]
        ) from None
    if defects:
        raise InventoryError(shown, [_place(d, data, node) for d in defects])
    return node, data


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
        for j, login in enumerate(target.logins):
            for c in range(len(login.credentials)):
                line = line_of(("targets", i, "logins", j, "credentials", c, "password_env"), node)
                if line:
                    lines[f"{target.name}/logins/{j}/credentials/{c}"] = line
    for k in range(len(inv.waivers)):
        line = line_of(("waivers", k, "expires"), node)
        if line:
            lines[f"waivers/{k}"] = line
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
