"""The ssh login kind: password authentication with paramiko, one connection per attempt.

The server's host key is read first (`channel`), checked against the endpoint's pin
(`known_hosts` or `host_key`) if it declares one, and every later connection must present
the same key before any credential is sent on it.
"""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path

import paramiko

from harness.errors import FailureKind, ProbeFailure
from harness.inventory import LoginEndpoint
from harness.probes import Job
from harness.probes.logins.model import Anonymous, Answer, Channel, Unmeasurable

PASSWORD_METHODS = ("password", "keyboard-interactive")
# host-key algorithm families a server may hold a key of; tried in turn to find a pinned key
KEY_FAMILIES: tuple[tuple[str, ...], ...] = (
    ("ssh-ed25519",),
    ("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"),
    ("rsa-sha2-512", "rsa-sha2-256"),
)
UNPINNED = (
    "the SSH host key is not pinned (declare known_hosts or host_key on the login; "
    "`harness known-hosts targets.yaml` reads the keys once and writes a known_hosts file)"
)
# paramiko logs a traceback for every failed handshake; the probe reports the failure itself
logging.getLogger("paramiko").addHandler(logging.NullHandler())
logging.getLogger("paramiko").propagate = False


class SshClient:
    throttles_by_refusing = True  # sshd's MaxStartups, PerSourcePenalties and fail2ban refuse

    def __init__(self, job: Job, base_dir: Path | None) -> None:
        assert isinstance(job.endpoint, LoginEndpoint)
        self.host = job.target.host
        self.port = job.endpoint.effective_port
        self.timeout = job.settings.timeout
        self.user = (job.endpoint.usernames or ["root"])[0]
        self.offered: list[str] | None = None
        self.known_hosts = _resolve(job.endpoint.known_hosts, base_dir)
        self.host_key = job.endpoint.host_key
        self.key_types: tuple[str, ...] | None = None  # the family the checked key belongs to
        self.fingerprint: str | None = None  # the key every connection must present

    def _transport(self, key_types: tuple[str, ...] | None = None) -> paramiko.Transport:
        transport = self._handshake(key_types or self.key_types)
        got = transport.get_remote_server_key().fingerprint
        if self.fingerprint is not None and got != self.fingerprint:
            transport.close()  # before any credential goes out on it
            raise Unmeasurable(
                FailureKind.PROTOCOL, f"host key changed: expected {self.fingerprint}, got {got}"
            )
        return transport

    def _handshake(self, key_types: tuple[str, ...] | None) -> paramiko.Transport:
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
        if key_types:
            transport.get_security_options().key_types = key_types
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
        """Read the host key and check it against the pin, if one is declared."""
        pinned = self._pinned()
        if pinned is None:
            transport = self._transport()
            self.fingerprint = transport.get_remote_server_key().fingerprint
            transport.close()
            return Channel(True, "SSH", unverified=UNPINNED, host_key=self.fingerprint)
        seen: list[str] = []
        failed: Unmeasurable | None = None
        for family in pinned:
            try:
                transport = self._transport(family)
            except Unmeasurable as exc:
                if exc.kind is not FailureKind.PROTOCOL:
                    raise
                failed = exc  # the server holds no key of this family
                continue
            got = transport.get_remote_server_key().fingerprint
            transport.close()
            if got in pinned[family]:
                self.key_types, self.fingerprint = family, got
                return Channel(True, "SSH", host_key=got)
            seen.append(got)
        if not seen and failed is not None:
            raise failed
        expected = ", ".join(sorted({f for fps in pinned.values() for f in fps}))
        raise Unmeasurable(
            FailureKind.PROTOCOL,
            f"host key changed: expected {expected}, got {', '.join(dict.fromkeys(seen))}; "
            "no credential was sent. If the key was changed on purpose, pin the new one",
        )

    def _pinned(self) -> dict[tuple[str, ...], set[str]] | None:
        """Key family -> pinned fingerprints; families in the order to try them."""
        if self.host_key is not None:
            return {family: {self.host_key} for family in KEY_FAMILIES}
        if self.known_hosts is None:
            return None
        name = self.host if self.port == 22 else f"[{self.host}]:{self.port}"
        try:
            entries = paramiko.HostKeys(str(self.known_hosts)).lookup(name)
        except (OSError, paramiko.SSHException, ValueError) as exc:
            raise Unmeasurable(
                FailureKind.ERROR, f"known_hosts {self.known_hosts} cannot be read ({exc})"
            ) from None
        if not entries:
            raise Unmeasurable(
                FailureKind.ERROR,
                f"known_hosts {self.known_hosts} has no key for {name}; add it, or run "
                "`harness known-hosts targets.yaml` to read it once",
            )
        out: dict[tuple[str, ...], set[str]] = {}
        for kind, key in entries.items():
            family = next((f for f in KEY_FAMILIES if _family_of(kind) in f), (kind,))
            out.setdefault(family, set()).add(key.fingerprint)
        return out

    def host_keys(self) -> list[paramiko.PKey]:
        """Every host key the server holds, one handshake per key family (for pinning)."""
        keys: list[paramiko.PKey] = []
        for family in KEY_FAMILIES:
            try:
                transport = self._handshake(family)
            except Unmeasurable as exc:
                if exc.kind is FailureKind.PROTOCOL:
                    continue
                raise
            keys.append(transport.get_remote_server_key())
            transport.close()
        return keys

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


def _family_of(kind: str) -> str:
    """A known_hosts key type as the host-key algorithm that negotiates it."""
    return "rsa-sha2-512" if kind == "ssh-rsa" else kind


def _resolve(path: Path | None, base_dir: Path | None) -> Path | None:
    if path is None:
        return None
    return path if path.is_absolute() or base_dir is None else base_dir / path
