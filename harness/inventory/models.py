"""The typed model of targets.yaml: targets, their TLS, HTTP, login and SSH endpoints, port specs,
settings inherited defaults < target < endpoint, and waivers. Unknown keys are errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.inventory.values import (
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
                " or password_file. Fix: keep one of them; never write the password itself in "
                "this file"
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
                "known_hosts and host_key pin SSH host keys; only an ssh login has one. Fix: "
                "remove them from this login"
            )
        if self.known_hosts and self.host_key:
            raise ValueError(
                "declare one of known_hosts or host_key, not both. Fix: keep one of them"
            )
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


class SshEndpoint(_Model):
    """An SSH port whose transport algorithms the ssh area judges (every ssh login endpoint is
    judged too, without being declared here)."""

    port: Port = 22
    timeout: Seconds | None = None

    @property
    def label(self) -> str:
        return f"ssh port {self.port}"


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
    ssh: list[SshEndpoint] = Field(default_factory=list)
    # every service the port scan identifies gets the areas that fit it (harness.probes.
    # discovered); None: on when ports.scan is 'all'. Login checks on them are a second opt-in.
    discover: bool | None = None
    discovered_logins: bool = False

    @property
    def discovers(self) -> bool:
        if self.discover is not None:
            return self.discover and self.ports is not None
        return self.ports is not None and self.ports.scan == "all"


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
