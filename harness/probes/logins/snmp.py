"""The snmp login kind: community strings tried with SNMPv2c GET sysDescr.0 over UDP.

An agent stays silent for a community it does not know, so silence is a rejection only from an
agent known to be there: `channel()` first sends an SNMPv3 discovery request, which any SNMPv3
agent answers with a Report whatever its communities. Without that answer (or with an ICMP port
unreachable) the endpoint is not measured.

Write access is probed only when the endpoint opts in (snmp_write_check: true), and only by
setting sysLocation.0 to the value it already has.
"""

from __future__ import annotations

import secrets
import socket
import time
from pathlib import Path

from harness.errors import FailureKind, ProbeFailure
from harness.inventory import LoginEndpoint
from harness.probes import Job
from harness.probes.logins import snmp_ber as ber
from harness.probes.logins.model import Anonymous, Answer, Channel, Unmeasurable

MAX_DATAGRAM = 65535
MAX_STRAY = 32  # datagrams that do not answer our request, read and dropped, per exchange


class SnmpClient:
    throttles_by_refusing = False  # a UDP agent drops what it refuses; it never closes on us

    def __init__(self, job: Job, base_dir: Path | None) -> None:
        assert isinstance(job.endpoint, LoginEndpoint)
        self.host = job.target.host
        self.port = job.endpoint.effective_port
        self.timeout = job.settings.timeout
        self.write_check = job.endpoint.snmp_write_check
        self._sock: socket.socket | None = None

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}/udp"

    def _socket(self) -> socket.socket:
        if self._sock is None:
            try:
                infos = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_DGRAM)
            except (OSError, UnicodeError):
                raise Unmeasurable(FailureKind.DNS, f"{self.host} does not resolve") from None
            family, _, _, _, addr = sorted(infos, key=lambda i: i[0] != socket.AF_INET)[0]
            sock = socket.socket(family, socket.SOCK_DGRAM)
            sock.connect(addr)  # connected: ICMP port unreachable surfaces as a refused recv
            self._sock = sock
        return self._sock

    def _exchange(self, datagram: bytes, request_id: int) -> ber.Response | None:
        """Send one request; its response, or None when nothing answered within the timeout."""
        sock = self._socket()
        deadline = time.monotonic() + self.timeout
        try:
            sock.send(datagram)
            for _ in range(MAX_STRAY):
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                sock.settimeout(left)
                try:
                    data = sock.recv(MAX_DATAGRAM)
                except TimeoutError:
                    return None
                try:
                    answer = ber.decode(data)
                except ber.BerError:
                    continue  # not an answer to us; a hostile port may send anything
                if answer.request_id == request_id:
                    return answer
        except ConnectionRefusedError:
            raise Unmeasurable(
                FailureKind.REFUSED,
                f"{self.where} is closed (ICMP port unreachable): no SNMP agent listens there",
            ) from None
        except OSError as exc:
            raise Unmeasurable(
                FailureKind.ERROR, f"cannot talk to {self.where}: {exc.strerror or exc}"
            ) from None
        raise Unmeasurable(
            FailureKind.PROTOCOL, f"{self.where} sent {MAX_STRAY} datagrams that answer nothing"
        )

    def channel(self) -> Channel:
        message_id = secrets.randbelow(2**31 - 1) + 1
        answer = self._exchange(ber.v3_discovery(message_id), message_id)
        if answer is None:
            raise Unmeasurable(
                FailureKind.TIMEOUT,
                f"no SNMP agent answered on {self.where}: an SNMPv3 discovery request got no "
                f"report within {self.timeout:g} s, and an agent is silent for a wrong community "
                "too, so a rejected community cannot be told from no agent at all. Fix: check "
                "the port and the firewall; an agent that ignores SNMPv3 cannot be judged",
            )
        return Channel(
            False,
            "SNMPv1/v2c community strings",
            (
                f"the SNMP agent on {self.where} is probed with SNMPv2c, whose community string "
                "crosses the network in cleartext with every request; use SNMPv3 with authPriv",
            ),
        )

    def anonymous(self) -> Anonymous | ProbeFailure | None:
        return None

    def password_auth(self) -> str | None:
        return None

    def attempt(self, username: str, password: str, secret: bool = False) -> Answer:
        community = password.encode("utf-8")
        request_id = secrets.randbelow(2**31 - 1) + 1
        start = time.monotonic()
        answer = self._exchange(ber.get(community, request_id), request_id)
        latency = time.monotonic() - start
        if answer is None:
            return Answer(
                False, f"no answer within {self.timeout:g} s", ("silent",), latency=latency
            )
        if answer.pdu_tag != ber.RESPONSE or answer.error_status == (
            ber.ErrorStatus.AUTHORIZATION_ERROR
        ):
            return Answer(
                False,
                f"refused (error-status {answer.error_status})",
                ("refused",),
                latency=latency,
            )
        seen = (
            "sysDescr.0 is outside the community's view"
            if answer.missing
            else f'sysDescr.0 = "{answer.text()}"'
        )
        return Answer(
            True,
            f"SNMPv2c GET answered, {seen}; {self._access(community)}",
            ("answered",),
            latency=latency,
        )

    def _access(self, community: bytes) -> str:
        """Read-only or read-write, by setting sysLocation.0 to its own value (opt-in only)."""
        if not self.write_check:
            return "read access; write access not checked (opt in with snmp_write_check: true)"
        rid = secrets.randbelow(2**31 - 1) + 1
        current = self._exchange(ber.get(community, rid, ber.SYS_LOCATION), rid)
        if current is None or current.value is None or current.missing:
            return "read access; write not checked: sysLocation.0 could not be read"
        rid = secrets.randbelow(2**31 - 1) + 1
        datagram = ber.request(community, ber.SET, rid, ber.SYS_LOCATION, current.value.encoded())
        answer = self._exchange(datagram, rid)
        if answer is None:
            return "read access; the harmless SET of sysLocation.0 got no answer, write unconfirmed"
        status = answer.error_status
        if status == ber.ErrorStatus.NO_ERROR:
            return "READ-WRITE: a SET of sysLocation.0 to its own value was accepted"
        if status in (
            ber.ErrorStatus.NO_ACCESS,
            ber.ErrorStatus.AUTHORIZATION_ERROR,
            ber.ErrorStatus.READ_ONLY,
            ber.ErrorStatus.NO_SUCH_NAME,
        ):
            return f"read-only: a SET of sysLocation.0 was refused (error-status {status})"
        return (
            f"read access; write not confirmed: the SET of sysLocation.0 failed with "
            f"error-status {status}, which an agent may give any community"
        )

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
