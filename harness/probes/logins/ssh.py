"""The ssh login kind: password authentication with paramiko, one connection per attempt."""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path

import paramiko

from harness.errors import FailureKind, ProbeFailure
from harness.inventory import LoginEndpoint
from harness.probes import Job
from harness.probes.logins.model import Anonymous, Answer, Channel
from harness.probes.logins.web import Unmeasurable

PASSWORD_METHODS = ("password", "keyboard-interactive")
# paramiko logs a traceback for every failed handshake; the probe reports the failure itself
logging.getLogger("paramiko").addHandler(logging.NullHandler())
logging.getLogger("paramiko").propagate = False


class SshClient:
    throttles_by_refusing = True  # sshd's MaxStartups, PerSourcePenalties and fail2ban refuse

    def __init__(self, job: Job, base_dir: Path | None) -> None:
        assert isinstance(job.endpoint, LoginEndpoint)
        self.host = job.target.host
        self.port = job.endpoint.port or 22
        self.timeout = job.settings.timeout
        self.user = (job.endpoint.usernames or ["root"])[0]
        self.offered: list[str] | None = None

    def _transport(self) -> paramiko.Transport:
        where = f"{self.host}:{self.port}"
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except TimeoutError:
            raise Unmeasurable(
                FailureKind.TIMEOUT, f"{where} did not answer within {self.timeout} s"
            ) from None
        except socket.gaierror:
            raise Unmeasurable(FailureKind.DNS, f"{self.host} does not resolve") from None
        except OSError:
            raise Unmeasurable(
                FailureKind.REFUSED, f"the connection to {where} was refused"
            ) from None
        transport = paramiko.Transport(sock)
        transport.banner_timeout = self.timeout
        transport.auth_timeout = self.timeout
        transport.handshake_timeout = self.timeout
        start = time.monotonic()
        timed_out = Unmeasurable(
            FailureKind.TIMEOUT,
            f"{where} did not complete an SSH handshake within {self.timeout} s",
        )
        try:
            transport.start_client(timeout=self.timeout)
        except (paramiko.SSHException, EOFError, OSError):
            transport.close()
            if time.monotonic() - start >= self.timeout:  # the banner timeout fired first
                raise timed_out from None
            raise Unmeasurable(
                FailureKind.PROTOCOL, f"the SSH handshake with {where} failed"
            ) from None
        if not transport.is_active() or not transport.initial_kex_done:
            # start_client returns quietly when its timeout passes (a silent or dripping server)
            transport.close()
            raise timed_out
        return transport

    def channel(self) -> Channel:
        return Channel(True, "SSH")

    def anonymous(self) -> Anonymous | ProbeFailure | None:
        """The 'none' method: a server that lets a user in without any credential."""
        transport = self._transport()
        what = f"SSH login as {self.user!r} with the 'none' method (no credential)"
        try:
            transport.auth_none(self.user)
            return Anonymous(True, what, "the server accepted it")
        except paramiko.BadAuthenticationType as exc:
            self.offered = list(exc.allowed_types)
            return Anonymous(False, what, "refused; the server offers " + ", ".join(self.offered))
        except paramiko.AuthenticationException:
            return Anonymous(False, what, "refused")
        except (paramiko.SSHException, EOFError, OSError):
            return ProbeFailure(
                FailureKind.PROTOCOL,
                f"{self.host}:{self.port}",
                "the server closed the connection during authentication",
            )
        finally:
            transport.close()

    def password_auth(self) -> str | None:
        if self.offered is not None and not any(m in self.offered for m in PASSWORD_METHODS):
            return (
                "the server does not offer password authentication (it offers "
                + ", ".join(self.offered)
                + ")"
            )
        return None

    def attempt(self, username: str, password: str, secret: bool = False) -> Answer:
        transport = self._transport()
        start = time.monotonic()
        try:
            transport.auth_password(username, password, fallback=True)
            return Answer(
                True,
                "password authentication succeeded",
                ("accepted",),
                latency=time.monotonic() - start,
            )
        except paramiko.BadAuthenticationType as exc:
            detail = (
                "password authentication not allowed (offers " + ", ".join(exc.allowed_types) + ")"
            )
            return Answer(False, detail, ("refused",), latency=time.monotonic() - start)
        except paramiko.AuthenticationException:
            return Answer(
                False, "authentication failed", ("refused",), latency=time.monotonic() - start
            )
        except (paramiko.SSHException, EOFError, OSError):
            raise Unmeasurable(
                FailureKind.PROTOCOL,
                f"{self.host}:{self.port} closed the connection during authentication",
            ) from None
        finally:
            transport.close()

    def close(self) -> None:
        return None
