"""Small UDP responders for the demo lab and the tests: an SNMP agent, an NTP server that answers
mode 6, and a port that swallows every datagram. Pure Python, one daemon thread each.

The SNMP agent speaks just enough SNMP: v1/v2c GET and SET of sysDescr.0 and sysLocation.0 for
the communities it knows (silence for any other, as real agents do), and an SNMPv3 Report for
every v3 request, as an agent without users gives.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

from harness.probes.logins import snmp_ber as ber

USM_UNKNOWN_ENGINE_IDS = "1.3.6.1.6.3.15.1.1.4.0"
COUNTER32 = 0x41


class UdpResponder:
    """A UDP socket on (host, port) whose datagrams go to `answer`; None means stay silent."""

    def __init__(self, host: str, port: int = 0) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.port: int = self.sock.getsockname()[1]
        self.received = 0
        self._closed = threading.Event()
        threading.Thread(target=self._serve, daemon=True, name=f"udp-{self.port}").start()

    def answer(self, data: bytes) -> bytes | None:
        return None

    def _serve(self) -> None:
        while not self._closed.is_set():
            try:
                data, peer = self.sock.recvfrom(65535)
            except OSError:
                return
            self.received += 1
            try:
                reply = self.answer(data)
            except (ber.BerError, ValueError, IndexError):
                reply = None  # garbage in, silence out
            if reply is not None:
                try:
                    self.sock.sendto(reply, peer)
                except OSError:
                    pass

    def close(self) -> None:
        self._closed.set()
        self.sock.close()


class SilentPort(UdpResponder):
    """Swallows every datagram: to nmap it is open|filtered, never open."""


@dataclass
class SnmpConfig:
    read_only: tuple[str, ...] = ("public",)
    read_write: tuple[str, ...] = ()
    answer_any: bool = False  # a broken agent that answers every community (the control guard)
    values: dict[str, bytes] = field(
        default_factory=lambda: {
            ber.SYS_DESCR: b"Linux lab-legacy 6.1.0 #1 SMP x86_64 (harness demo lab agent)",
            ber.SYS_LOCATION: b"demo lab, rack 0",
        }
    )


class SnmpAgent(UdpResponder):
    def __init__(self, host: str, port: int = 0, config: SnmpConfig | None = None) -> None:
        self.config = config or SnmpConfig()
        self.engine_id = b"\x80\x00\x1f\x88\x80" + os.urandom(8)  # net-snmp style, random
        self.sets = 0
        super().__init__(host, port)

    def answer(self, data: bytes) -> bytes | None:
        message, _ = ber.parse_one(data)
        parts = message.children()
        version = parts[0].as_int()
        if version == 3:
            return self._report(parts)
        community = parts[1].body.decode("utf-8", "replace")
        rw = community in self.config.read_write
        if not (rw or community in self.config.read_only or self.config.answer_any):
            return None  # real agents stay silent for an unknown community
        pdu = parts[2]
        rid, _, _, varbinds = pdu.children()
        name_node, value = varbinds.children()[0].children()
        name = _oid_text(name_node.body)
        status = 0
        if pdu.tag == ber.SET:
            if not rw:
                status = ber.ErrorStatus.NO_ACCESS
            elif name in self.config.values and value.tag == ber.OCTET_STRING:
                self.config.values[name] = value.body
                self.sets += 1
            else:
                status = ber.ErrorStatus.NOT_WRITABLE
        known = self.config.values.get(name)
        out = ber.octets(known) if known is not None else ber.tlv(ber.NO_SUCH_OBJECT, b"")
        varbind = ber.tlv(ber.SEQUENCE, ber.oid(name) + out)
        body = ber.integer(rid.as_int()) + ber.integer(int(status)) + ber.integer(0)
        resp = ber.tlv(ber.RESPONSE, body + ber.tlv(ber.SEQUENCE, varbind))
        return ber.tlv(ber.SEQUENCE, ber.integer(version) + ber.octets(parts[1].body) + resp)

    def _report(self, parts: list[ber.Node]) -> bytes:
        msg_id = parts[1].children()[0].as_int()
        header = ber.tlv(
            ber.SEQUENCE,
            ber.integer(msg_id) + ber.integer(65507) + ber.octets(b"\x00") + ber.integer(3),
        )
        usm = ber.tlv(
            ber.SEQUENCE,
            ber.octets(self.engine_id)
            + ber.integer(1)
            + ber.integer(int(time.monotonic()))
            + ber.octets(b"") * 3,
        )
        counter = ber.tlv(COUNTER32, b"\x01")
        varbind = ber.tlv(ber.SEQUENCE, ber.oid(USM_UNKNOWN_ENGINE_IDS) + counter)
        pdu = ber.tlv(
            ber.REPORT,
            ber.integer(0) + ber.integer(0) + ber.integer(0) + ber.tlv(ber.SEQUENCE, varbind),
        )
        scoped = ber.tlv(ber.SEQUENCE, ber.octets(self.engine_id) + ber.octets(b"") + pdu)
        return ber.tlv(ber.SEQUENCE, ber.integer(3) + header + ber.octets(usm) + scoped)


def _oid_text(body: bytes) -> str:
    arcs = [body[0] // 40, body[0] % 40]
    value = 0
    for byte in body[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    return ".".join(map(str, arcs))


class NtpServer(UdpResponder):
    """Answers client requests (mode 3) and, like an unrestricted ntpd, mode 6 READVAR queries."""

    VARIABLES = b'version="ntpd 4.2.8p15@1.3728-o", processor="x86_64", system="Linux", stratum=2'

    def answer(self, data: bytes) -> bytes | None:
        if not data:
            return None
        mode = data[0] & 0x07
        if mode == 3 and len(data) >= 48:
            now = int(time.time()) + 2_208_988_800  # NTP era 0
            stamp = struct.pack("!II", now, 0)
            head = struct.pack("!BBbb", 0x24, 2, 6, -20)  # LI 0, v4, mode 4 (server), stratum 2
            return head + b"\0" * 8 + b"LAB\0" + stamp + data[40:48] + stamp + stamp
        if mode == 6 and len(data) >= 12:
            sequence = data[2:4]
            body = self.VARIABLES
            # response bit and opcode 2 (read variables); status, association 0, offset 0
            head = (
                bytes([0x16, 0x82]) + sequence + b"\x06\x15\0\0\0\0" + struct.pack("!H", len(body))
            )
            return head + body + b"\0" * (-len(body) % 4)
        return None
