"""targets.yaml -> typed, validated objects, with one readable message per defect.

Unknown keys are errors: a typo must never silently switch a check off. Hosts are checked to be
an IP address or a DNS name, so nothing from the file can ever become a command-line option.
The checks of single values live in inventory_values, the checks across entries in
inventory_cross, and the mapping of an error to its line in inventory_lines.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from harness.errors import InventoryError
from harness.inventory_cross import cross_checks
from harness.inventory_lines import describe, expanded_size, line_of
from harness.inventory_values import (
    DeleteUrl,
    ExpectedPort,
    Fingerprint,
    Grade,
    Host,
    LoginKind,
    Name,
    Port,
    PortScan,
    Profile,
    Seconds,
    StartTls,
    UdpScan,
    Url,
)

MAX_FILE_BYTES = 1_000_000  # a targets file is text written by people; anything bigger is a mistake
MAX_NODES = 200_000  # values after alias expansion; thousands of targets fit well below this


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Overrides(_Model):
    """Keys allowed in `defaults`, on a target, or on an endpoint; None means inherit."""

    tls_profile: Profile | None = None
    min_grade: Grade | None = None
    cert_expiry_days: Annotated[int, Field(ge=0, le=3650)] | None = None
    ca_bundle: Path | None = None
    timeout: Seconds | None = None
    hsts_min_age_days: Annotated[int, Field(ge=0, le=3650)] | None = None
    login_attempt_budget: Annotated[int, Field(ge=1, le=1000)] | None = None
    login_delay: Annotated[float, Field(ge=0, le=60)] | None = None


class Defaults(Overrides):
    tls_connections_per_host: Annotated[int, Field(ge=1, le=50)] | None = None
    connections_per_host: Annotated[int, Field(ge=1, le=50)] | None = None
    max_concurrent_hosts: Annotated[int, Field(ge=1, le=500)] | None = None


class Settings(_Model):
    """Effective settings for one target or endpoint, after inheritance."""

    tls_profile: Profile = "intermediate"
    min_grade: Grade = "A"
    cert_expiry_days: int = 30
    ca_bundle: Path | None = None
    timeout: float = 10.0
    hsts_min_age_days: int = 180
    login_attempt_budget: int = 10
    login_delay: float = 0.5
    tls_connections_per_host: int = 5
    connections_per_host: int = 5  # nmap -sV runs and banner grabs at once against one host
    max_concurrent_hosts: int = 10


class PortsSpec(_Model):
    expected: list[ExpectedPort] = Field(default_factory=list)  # 22 means TCP; '53/udp' is UDP
    scan: PortScan = "top-1000"
    udp: UdpScan = "risky"  # the shipped risky-UDP list; 'none' turns the UDP scan off

    def expects(self, port: int, protocol: str) -> bool:
        return (f"{port}/udp" if protocol == "udp" else port) in self.expected


class TlsEndpoint(Overrides):
    port: Port
    server_name: Host | None = None
    starttls: StartTls | None = None
    profile: Profile | None = None  # the per-endpoint spelling of tls_profile
    https: bool | None = None  # None: HTTPS unless starttls is set (decides the HSTS check)

    @property
    def label(self) -> str:
        return str(self.port) if not self.starttls else f"{self.port}/{self.starttls}"

    @property
    def is_https(self) -> bool:
        return self.https if self.https is not None else self.starttls is None


class HttpEndpoint(_Model):
    url: Url


class Credential(_Model):
    """An organisation's own credential, referenced by name, never written in the file."""

    username: str
    password_env: str | None = None
    password_file: Path | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Credential:
        if (self.password_env is None) == (self.password_file is None):
            raise ValueError(
                "a credential needs exactly one of password_env (an environment variable name)"
                " or password_file; never write the password itself in this file"
            )
        return self


class PasswordPolicyEndpoint(_Model):
    url: Url
    kind: Literal["form", "json"] = "form"
    username_field: str = "username"
    password_field: str = "password"
    policy: Literal["nist", "composition"] = "nist"
    mfa: bool = False
    success_status: list[int] | None = None
    failure_text: str | None = None
    # where the probe deletes each account it created; {username} is replaced
    delete_url: DeleteUrl | None = None
    delete_method: Literal["DELETE", "POST"] = "DELETE"


# well-known ports of the kinds that take `port` rather than `url`
_LOGIN_PORTS = {"ssh": 22, "ftp": 21, "snmp": 161}


class LoginEndpoint(Overrides):
    kind: LoginKind
    url: Url | None = None
    port: Port | None = None
    usernames: list[str] | None = None
    credentials: list[Credential] = Field(default_factory=list)
    passwords_file: Path | None = None  # replaces the shipped weak-password list
    username_field: str | None = None
    password_field: str | None = None
    csrf_field: str | None = None
    failure_text: str | None = None
    success_text: str | None = None
    success_status: list[int] | None = None
    success_redirect: str | None = None
    success_cookie: str | None = None
    token_field: str | None = None
    protected_url: Url | None = None
    lockout: bool = False
    lockout_threshold: Annotated[int, Field(ge=1, le=100)] = 5
    password_policy: PasswordPolicyEndpoint | None = None
    known_hosts: Path | None = None  # ssh: a known_hosts file that pins the host key
    host_key: Fingerprint | None = None  # ssh: SHA256:...
    snmp_write_check: bool = False  # snmp: try a harmless SET (sysLocation to its own value)

    @model_validator(mode="after")
    def _pin(self) -> LoginEndpoint:
        if (self.known_hosts or self.host_key) and self.kind != "ssh":
            raise ValueError(
                "known_hosts and host_key pin SSH host keys; only an ssh login has one"
            )
        if self.known_hosts and self.host_key:
            raise ValueError("declare one of known_hosts or host_key, not both")
        return self

    @property
    def effective_port(self) -> int:
        """The declared port, else the URL's, else the kind's well-known port."""
        if self.port:
            return self.port
        if self.url:
            parts = urlsplit(self.url)
            return parts.port or (443 if parts.scheme == "https" else 80)
        return _LOGIN_PORTS.get(self.kind, 0)

    @property
    def label(self) -> str:
        if self.kind == "snmp":
            return f"snmp port {self.effective_port}/udp"
        return f"{self.kind} {self.url if self.url else f'port {self.effective_port}'}"


class Target(Overrides):
    name: Name
    host: Host
    # TLS, ports and banners probe every address the name resolves to; "first" opts out
    addresses: Literal["all", "first"] = "all"
    tags: list[str] = Field(default_factory=list)
    ports: PortsSpec | None = None
    tls: list[TlsEndpoint] = Field(default_factory=list)
    http: list[HttpEndpoint] = Field(default_factory=list)
    logins: list[LoginEndpoint] = Field(default_factory=list)


class Waiver(_Model):
    check: str
    target: Name
    reason: Annotated[str, Field(min_length=3)]
    expires: dt.date
    owner: str | None = None


class Inventory(_Model):
    version: Literal[1]
    defaults: Defaults = Field(default_factory=Defaults)
    targets: Annotated[list[Target], Field(min_length=1)]
    waivers: list[Waiver] = Field(default_factory=list)
    path: Path | None = None  # set by load(); not a YAML key
    # where each target and endpoint is declared ("web-01", "web-01/tls/0" -> line), set by
    # loads(); reports point at these lines (SARIF physical locations)
    lines: dict[str, int] = Field(default_factory=dict)

    def target(self, name: str) -> Target:
        for t in self.targets:
            if t.name == name:
                return t
        raise KeyError(name)

    def settings(self, target: Target, endpoint: Overrides | None = None) -> Settings:
        """Merge defaults < target < endpoint."""
        merged: dict[str, Any] = {}
        layers: list[BaseModel] = [self.defaults, target]
        if endpoint is not None:
            layers.append(endpoint)
        for layer in layers:
            for key in Settings.model_fields:
                value = getattr(layer, key, None)
                if value is not None:
                    merged[key] = value
        profile = getattr(endpoint, "profile", None)
        if profile is not None:
            merged["tls_profile"] = profile
        return Settings(**merged)


# ------------------------------------------------------------------------------------- loading


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
