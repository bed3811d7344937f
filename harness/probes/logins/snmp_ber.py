"""The few BER bytes SNMP needs: v2c GET/SET of one OID, a v3 discovery request, and a decoder.

Written by hand (RFC 3416 PDUs, RFC 3412/3414 v3 header) because the maintained libraries are
large and untyped. The decoder treats every datagram as hostile: each length is checked
against the bytes that are really there, nesting is bounded, and anything odd is a BerError.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_LOCATION = "1.3.6.1.2.1.1.6.0"

INTEGER, OCTET_STRING, NULL, OID, SEQUENCE = 0x02, 0x04, 0x05, 0x06, 0x30
GET, RESPONSE, SET, REPORT = 0xA0, 0xA2, 0xA3, 0xA8
NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB = 0x80, 0x81, 0x82
MAX_DEPTH = 8


class BerError(ValueError):
    """Bytes that are not the SNMP message they claim to be."""


class ErrorStatus(IntEnum):
    """RFC 3416 error-status values that the probe tells apart."""

    NO_ERROR = 0
    TOO_BIG = 1
    NO_SUCH_NAME = 2
    BAD_VALUE = 3
    READ_ONLY = 4
    GEN_ERR = 5
    NO_ACCESS = 6
    WRONG_TYPE = 7
    NOT_WRITABLE = 17
    AUTHORIZATION_ERROR = 16


# ------------------------------------------------------------------------------------ encoding


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _length(len(body)) + body


def integer(value: int) -> bytes:
    size = max(1, (value.bit_length() + 8) // 8)  # room for the sign bit
    return tlv(INTEGER, value.to_bytes(size, "big", signed=True))


def octets(value: bytes) -> bytes:
    return tlv(OCTET_STRING, value)


def oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    body = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body += bytes(reversed(chunk))
    return tlv(OID, bytes(body))


def request(community: bytes, pdu_tag: int, request_id: int, name: str, value: bytes) -> bytes:
    """An SNMPv2c message with one varbind; `value` is an encoded TLV (NULL for a GET)."""
    varbind = tlv(SEQUENCE, oid(name) + value)
    pdu = tlv(pdu_tag, integer(request_id) + integer(0) + integer(0) + tlv(SEQUENCE, varbind))
    return tlv(SEQUENCE, integer(1) + octets(community) + pdu)


def get(community: bytes, request_id: int, name: str = SYS_DESCR) -> bytes:
    return request(community, GET, request_id, name, tlv(NULL, b""))


def v3_discovery(message_id: int) -> bytes:
    """An SNMPv3 GET without user or engine (RFC 3414 4): agents answer it with a Report."""
    header = tlv(
        SEQUENCE, integer(message_id) + integer(65507) + octets(b"\x04") + integer(3)
    )  # msgFlags 0x04: reportable, no auth, no privacy; security model 3: USM
    usm = tlv(SEQUENCE, octets(b"") + integer(0) + integer(0) + octets(b"") * 3)
    pdu = tlv(GET, integer(message_id) + integer(0) + integer(0) + tlv(SEQUENCE, b""))
    scoped = tlv(SEQUENCE, octets(b"") + octets(b"") + pdu)
    return tlv(SEQUENCE, integer(3) + header + octets(usm) + scoped)


# ------------------------------------------------------------------------------------ decoding


@dataclass(frozen=True)
class Node:
    tag: int
    body: bytes

    def children(self) -> list[Node]:
        return parse_all(self.body)

    def as_int(self) -> int:
        if self.tag != INTEGER or not 1 <= len(self.body) <= 8:
            raise BerError(f"expected an INTEGER, got tag 0x{self.tag:02x}")
        return int.from_bytes(self.body, "big", signed=True)

    def encoded(self) -> bytes:
        return tlv(self.tag, self.body)


def parse_one(data: bytes, offset: int = 0) -> tuple[Node, int]:
    if offset + 2 > len(data):
        raise BerError("truncated TLV header")
    tag, first = data[offset], data[offset + 1]
    pos = offset + 2
    if first & 0x80:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise BerError("bad or truncated length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    else:
        length = first
    if pos + length > len(data):
        raise BerError("a length longer than the datagram")
    return Node(tag, data[pos : pos + length]), pos + length


def parse_all(data: bytes) -> list[Node]:
    out: list[Node] = []
    pos = 0
    while pos < len(data):
        node, pos = parse_one(data, pos)
        out.append(node)
        if len(out) > 64:
            raise BerError("too many elements")
    return out


@dataclass(frozen=True)
class Response:
    version: int  # 0 v1, 1 v2c, 3 v3
    pdu_tag: int
    request_id: int
    error_status: int
    value: Node | None  # the first varbind's value

    @property
    def missing(self) -> bool:
        """The OID is outside what the community may see (noSuchObject and kin)."""
        return self.value is not None and self.value.tag in (
            NO_SUCH_OBJECT,
            NO_SUCH_INSTANCE,
            END_OF_MIB,
        )

    def text(self, limit: int = 80) -> str:
        if self.value is None or self.value.tag != OCTET_STRING:
            return ""
        shown = self.value.body.decode("utf-8", "replace")
        shown = "".join(c if c.isprintable() else " " for c in shown).strip()
        return shown[:limit] + ("..." if len(shown) > limit else "")


def decode(data: bytes) -> Response:
    """A v1/v2c response, or the outline of a v3 message (its message id as request_id)."""
    message, end = parse_one(data)
    if message.tag != SEQUENCE or end != len(data):
        raise BerError("not one SNMP message")
    parts = message.children()
    if len(parts) < 3:
        raise BerError("too few fields for an SNMP message")
    version = parts[0].as_int()
    if version == 3:
        if len(parts) != 4 or parts[1].tag != SEQUENCE:
            raise BerError("not an SNMPv3 message")
        msg_id = parts[1].children()[0].as_int()
        scoped = parts[3]
        pdu_tag = REPORT
        if scoped.tag == SEQUENCE:
            inner = scoped.children()
            pdu_tag = inner[2].tag if len(inner) == 3 else REPORT
        return Response(3, pdu_tag, msg_id, 0, None)
    if version not in (0, 1) or parts[1].tag != OCTET_STRING:
        raise BerError("not an SNMPv1/v2c message")
    pdu = parts[2]
    fields = pdu.children()
    if len(fields) != 4 or fields[3].tag != SEQUENCE:
        raise BerError("not an SNMP PDU")
    varbinds = fields[3].children()
    value = None
    if varbinds:
        pair = varbinds[0].children()
        if len(pair) != 2 or pair[0].tag != OID:
            raise BerError("a varbind that is not (OID, value)")
        value = pair[1]
    return Response(version, pdu.tag, fields[0].as_int(), fields[1].as_int(), value)
