"""targets.yaml -> typed, validated objects, with one readable message per defect.

Unknown keys are errors: a typo must never silently switch a check off. Hosts are checked to be
an IP address or a DNS name, so nothing from the file can ever become a command-line option.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from harness.checks import catalogue
from harness.errors import InventoryError
from harness.inventory_lines import describe, expanded_size, line_of, locate

MAX_FILE_BYTES = 1_000_000  # a targets file is text written by people; anything bigger is a mistake
MAX_NODES = 200_000  # values after alias expansion; thousands of targets fit well below this
_DNS_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")
_RANGE_LABEL = re.compile(r"^[0-9-]+$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_PORT_SPEC = re.compile(r"^\d{1,5}(-\d{1,5})?(,\d{1,5}(-\d{1,5})?)*$")
_TOP_N = re.compile(r"^top-(\d{1,5})$")
_FINGERPRINT = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}$")


def check_host(value: str) -> str:
    """An IP address or a DNS name. Never a leading '-', never whitespace, never a range."""
    if value.startswith("-"):
        raise ValueError(
            "a host must not start with '-' (it would be read as a command option);"
            " expected one IP address or DNS name"
        )
    if not value or any(c.isspace() for c in value):
        raise ValueError("expected one IP address or DNS name, without spaces")
    try:
        ipaddress.ip_address(value)
        return value
    except ValueError:
        pass
    if "/" in value:
        raise ValueError("CIDR ranges are not accepted; declare each host as its own target")
    if "," in value:
        raise ValueError("host lists are not accepted; declare each host as its own target")
    name = value[:-1] if value.endswith(".") else value
    labels = name.split(".")
    if len(name) > 253 or not all(_DNS_LABEL.match(label) for label in labels):
        raise ValueError("not a valid IP address or DNS name")
    if all(_RANGE_LABEL.match(label) for label in labels) and "-" in name:
        # nmap reads 10.0.0.1-20 as twenty hosts; as a name it is only ever a mistake
        raise ValueError("address ranges are not accepted; declare each host as its own target")
    if labels[-1].isdigit():
        raise ValueError("looks like an IP address but is not a valid one")
    return value


def check_name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(
            "a name must start with a letter or digit and use only letters, digits, '.', '_', '-'"
            " (at most 63 characters)"
        )
    return value


def check_port_scan(value: str | int | list[int | str]) -> str:
    """Normalise ports.scan to 'top-N', 'all' or a port list such as '22,80,8000-8100'."""
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    value = re.sub(r"\s*,\s*", ",", value.strip())  # "22, 443" is fine; "22 80" is no 2280
    if value == "all":
        return value
    top = _TOP_N.match(value)
    if top:
        if not 1 <= int(top.group(1)) <= 65535:
            raise ValueError("top-N needs N between 1 and 65535")
        return value
    if not _PORT_SPEC.match(value):
        raise ValueError("expected 'top-N', 'all', or ports and ranges like '22,80,8000-8100'")
    for part in value.split(","):
        lo, _, hi = part.partition("-")
        if not 1 <= int(lo) <= 65535 or (hi and not int(lo) <= int(hi) <= 65535):
            raise ValueError(f"port range {part!r} is outside 1-65535 or reversed")
    return value


def check_udp_scan(value: str | int | list[int | str]) -> str:
    """Normalise ports.udp: 'risky' (the shipped list), 'none', 'top-N' or a port list."""
    if isinstance(value, str) and value.strip() in ("risky", "none"):
        return value.strip()
    if isinstance(value, str) and value.strip() == "all":
        raise ValueError(
            "'all' is not accepted for UDP: 65535 UDP ports take hours per host. Fix: use "
            "'risky', 'top-N' or a port list like '53,161,11211'"
        )
    try:
        return check_port_scan(value)
    except ValueError:
        raise ValueError(
            "expected 'risky', 'none', 'top-N', or ports and ranges like '53,161,11211'"
        ) from None


def check_expected_port(value: int | str) -> int | str:
    """An allowlist entry: 22 or '22/tcp' (TCP, kept as the int 22) or '53/udp'."""
    if isinstance(value, bool):
        raise ValueError("expected a port number, or 'N/udp' for a UDP port")
    text = str(value).strip().lower()
    match = re.fullmatch(r"(\d{1,5})(?:/(tcp|udp))?", text)
    if not match or not 1 <= int(match.group(1)) <= 65535:
        raise ValueError("expected a port 1-65535, optionally as 'N/tcp' or 'N/udp' (like 53/udp)")
    number = int(match.group(1))
    return f"{number}/udp" if match.group(2) == "udp" else number


def check_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected an http:// or https:// URL with a host")
    check_host(parts.hostname)
    return value


Host = Annotated[str, AfterValidator(check_host)]
Name = Annotated[str, AfterValidator(check_name)]
Url = Annotated[str, AfterValidator(check_url)]
Port = Annotated[int, Field(ge=1, le=65535, strict=True)]
PortScan = Annotated[str | int | list[int | str], AfterValidator(check_port_scan)]
UdpScan = Annotated[str | int | list[int | str], AfterValidator(check_udp_scan)]
ExpectedPort = Annotated[int | str, AfterValidator(check_expected_port)]
Profile = Literal["modern", "intermediate", "old"]
Grade = Literal["A+", "A", "A-", "B", "C", "D", "E", "F"]
StartTls = Literal["smtp", "imap", "pop3", "ftp", "ldap", "xmpp", "xmpp_server", "postgres", "rdp"]
LoginKind = Literal["http-basic", "http-digest", "http-form", "http-json", "ssh", "ftp", "snmp"]
Seconds = Annotated[float, Field(gt=0, le=3600)]


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


def check_delete_url(value: str) -> str:
    if "{username}" not in value:
        raise ValueError(
            "a delete_url names the account to delete with {username}, "
            "e.g. https://host/api/users/{username}"
        )
    check_url(value.replace("{username}", "x"))
    return value


def check_fingerprint(value: str) -> str:
    if not _FINGERPRINT.match(value):
        raise ValueError(
            "expected a SHA256 fingerprint as `ssh-keygen -lf` prints it, "
            "e.g. SHA256:GdMPX6pBxp+q3YGsb6ObTw1NwsPTF3kFA0daO0cbU3M"
        )
    return value


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
    delete_url: Annotated[str, AfterValidator(check_delete_url)] | None = None
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
    host_key: Annotated[str, AfterValidator(check_fingerprint)] | None = None  # ssh: SHA256:...
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
    problems = _cross_checks(inv, data, node, base_dir)
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


def _cross_checks(
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
                + f"{loc[-1]} file {str(ca)!r} does not exist. Fix: point it at "
                + ("a PEM file" if loc[-1] == "ca_bundle" else "a known_hosts file")
            )
    known = catalogue()
    for k, waiver in enumerate(inv.waivers):
        if waiver.check not in known:
            problems.append(
                locate(("waivers", k, "check"), data, node)
                + f"unknown check id {waiver.check!r}. Fix: use an id from the catalogue "
                "(harness checks)"
            )
        if waiver.target not in seen:
            problems.append(
                locate(("waivers", k, "target"), data, node)
                + f"waiver names target {waiver.target!r}, which is not declared"
            )
    return problems


def summary(inv: Inventory) -> str:
    n_tls = sum(len(t.tls) for t in inv.targets)
    n_ports = sum(1 for t in inv.targets if t.ports)
    n_http = sum(len(t.http) for t in inv.targets)
    n_logins = sum(len(t.logins) for t in inv.targets)
    return (
        f"{len(inv.targets)} targets, {n_tls} TLS endpoints, {n_ports} port scans, "
        f"{n_http} HTTP endpoints, {n_logins} login endpoints, {len(inv.waivers)} waivers"
    )
