"""The registry of login kinds: each maps to a client class with one small interface."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from harness.errors import ProbeFailure
from harness.probes import Job
from harness.probes.logins.ftp import FtpClient
from harness.probes.logins.http import BasicClient, DigestClient, FormClient, JsonClient
from harness.probes.logins.model import Anonymous, Answer, Channel
from harness.probes.logins.snmp import SnmpClient
from harness.probes.logins.ssh import SshClient


class LoginClient(Protocol):
    """One login endpoint. Methods raise `Unmeasurable` when the endpoint cannot be measured."""

    # True when refusing connections after failures is how the service throttles (ssh, ftp)
    throttles_by_refusing: bool

    def channel(self) -> Channel: ...

    def anonymous(self) -> Anonymous | ProbeFailure | None: ...

    def password_auth(self) -> str | None: ...  # None, or why passwords cannot be tried

    def attempt(self, username: str, password: str, secret: bool = False) -> Answer: ...

    def close(self) -> None: ...


class ClientFactory(Protocol):
    def __call__(self, job: Job, base_dir: Path | None) -> LoginClient: ...


KINDS: dict[str, ClientFactory] = {
    "http-basic": BasicClient,
    "http-digest": DigestClient,
    "http-form": FormClient,
    "http-json": JsonClient,
    "ssh": SshClient,
    "ftp": FtpClient,
    "snmp": SnmpClient,
}

# kinds whose protocol has no encrypted channel for the secret at all (SNMPv1/v2c communities):
# declared secrets are tried there anyway, since every manager polling the agent sends them so
DECLARED_OVER_CLEARTEXT = frozenset({"snmp"})

# attempts that a kind's anonymous check makes (HTTP anonymous checks send no credential)
ANONYMOUS_ATTEMPTS = {"ssh": 1, "ftp": 1}
