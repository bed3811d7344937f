"""The few SSH transport bytes the ssh probe needs, read as hostile input (RFC 4253, RFC 4251).

Written by hand rather than taken from ssh-audit or paramiko: everything the probe reads (the
version line, the KEXINIT, the key-exchange reply with the host key, a group-exchange group) is
sent in clear text before any key is agreed, and is a handful of length-prefixed fields. ssh-audit
is a CLI whose 1,500-line orchestrator prints and judges in one place, and paramiko is a client
that hides the server's lists, refuses to negotiate DSA or SHA-1 host keys (paramiko 5), and runs
a thread per connection. A small parser keeps every read bounded and every odd byte a `WireError`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

MAX_LINE = 255  # RFC 4253 4.2: the version line, CR LF included
MAX_PRE_LINES = 20  # lines a server may send before its version line (OpenSSH's client allows
# 1024; a real server sends a few, and each is bounded by MAX_LINE)
MAX_PACKET = 35000  # RFC 4253 6.1: the largest packet every implementation must accept
MAX_NAME = 64  # RFC 4251 6: algorithm names are at most 64 characters
BLOCK = 8  # before NEWKEYS the cipher is "none", whose block size is 8

MSG_DISCONNECT, MSG_IGNORE, MSG_UNIMPLEMENTED, MSG_DEBUG = 1, 2, 3, 4
MSG_KEXINIT = 20
MSG_KEX_ECDH_INIT, MSG_KEX_ECDH_REPLY = 30, 31  # also KEXDH_INIT/REPLY and GEX_GROUP (31)
MSG_KEX_DH_GEX_REQUEST = 34
SKIPPABLE = (MSG_IGNORE, MSG_DEBUG, MSG_UNIMPLEMENTED)

KEXINIT_LISTS = (
    "kex",
    "host_key",
    "ciphers_c2s",
    "ciphers_s2c",
    "macs_c2s",
    "macs_s2c",
    "compression_c2s",
    "compression_s2c",
    "languages_c2s",
    "languages_s2c",
)


class WireError(ValueError):
    """Bytes that are not the SSH message they claim to be."""


@dataclass(frozen=True)
class Version:
    """The server's identification: 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3'."""

    line: str
    protocol: str  # "2.0", "1.99" (both), "1.5" (SSH-1 only)
    software: str
    comment: str = ""


@dataclass(frozen=True)
class KexInit:
    """The ten name-lists of a KEXINIT, each in the sender's order of preference."""

    kex: tuple[str, ...]
    host_key: tuple[str, ...]
    ciphers_c2s: tuple[str, ...]
    ciphers_s2c: tuple[str, ...]
    macs_c2s: tuple[str, ...]
    macs_s2c: tuple[str, ...]
    compression_c2s: tuple[str, ...]
    compression_s2c: tuple[str, ...]
    languages_c2s: tuple[str, ...]
    languages_s2c: tuple[str, ...]
    first_kex_follows: bool


@dataclass(frozen=True)
class HostKeyBlob:
    """A public host key as the server sent it: its type and size in bits."""

    key_type: str  # "ssh-rsa", "ssh-dss", "ssh-ed25519", "ecdsa-sha2-nistp256"
    bits: int


# ------------------------------------------------------------------------------ version line


def parse_version(line: bytes) -> Version | None:
    """The version line (CR LF stripped), or None for one of the lines a server may send first.

    Raises WireError when a line that starts with SSH- is malformed."""
    if not line.startswith(b"SSH-"):
        return None
    try:
        text = line.decode("ascii")
    except UnicodeDecodeError:
        raise WireError("the version line is not ASCII") from None
    if not text.isprintable():
        raise WireError("the version line holds control characters")
    ident, _, comment = text.partition(" ")
    parts = ident.split("-", 2)
    if len(parts) != 3 or not parts[1] or not parts[2]:
        raise WireError(f"malformed version line {text!r}")
    return Version(text, parts[1], parts[2], comment)


# ----------------------------------------------------------------------------- binary packets


def packet_length(header: bytes) -> int:
    """The bytes that follow the first 4 of a packet, checked before any of them is read."""
    if len(header) != 4:
        raise WireError("a packet header is 4 bytes")
    length = int.from_bytes(header, "big")
    if length < 12 or length > MAX_PACKET:  # 1 padding-length byte, >= 1 payload, >= 4 padding
        raise WireError(f"packet length {length} is outside 12..{MAX_PACKET}")
    if (length + 4) % BLOCK:
        raise WireError(f"packet length {length} is not aligned to the {BLOCK}-byte block")
    return length


def packet_payload(body: bytes) -> bytes:
    """The payload of a packet whose `packet_length` bytes are `body` (no MAC before NEWKEYS)."""
    padding = body[0]
    if padding < 4 or padding > len(body) - 2:
        raise WireError(f"padding length {padding} does not fit a {len(body)}-byte packet")
    return body[1 : len(body) - padding]


def packet(payload: bytes) -> bytes:
    """One unencrypted binary packet carrying `payload`, padded to the block size."""
    padding = BLOCK - (len(payload) + 5) % BLOCK
    if padding < 4:
        padding += BLOCK
    return struct.pack(">IB", len(payload) + padding + 1, padding) + payload + bytes(padding)


# ------------------------------------------------------------------------------------- fields


class Reader:
    """Reads the fields of one payload; every length is checked against what is there."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise WireError(f"a field of {n} bytes runs past the end of the message")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def byte(self) -> int:
        return self.take(1)[0]

    def uint32(self) -> int:
        value: int = struct.unpack(">I", self.take(4))[0]
        return value

    def string(self) -> bytes:
        return self.take(self.uint32())

    def mpint(self) -> int:
        raw = self.string()
        if raw and raw[0] & 0x80:
            raise WireError("a negative mpint where a positive one belongs")
        return int.from_bytes(raw, "big")

    def name_list(self) -> tuple[str, ...]:
        raw = self.string()
        if not raw:
            return ()
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            raise WireError("a name-list is not ASCII") from None
        names = tuple(text.split(","))
        for name in names:
            if not name or len(name) > MAX_NAME or not all(33 <= ord(c) <= 126 for c in name):
                raise WireError(f"invalid algorithm name {name[:80]!r} in a name-list")
        return names

    def end(self) -> None:
        if self.pos != len(self.data):
            raise WireError(f"{len(self.data) - self.pos} unexpected bytes after the message")


def parse_kexinit(payload: bytes) -> KexInit:
    r = Reader(payload)
    if r.byte() != MSG_KEXINIT:
        raise WireError("not a KEXINIT message")
    r.take(16)  # the cookie
    lists = {name: r.name_list() for name in KEXINIT_LISTS}
    follows = r.byte()
    r.uint32()  # reserved
    r.end()
    if not lists["kex"] or not lists["host_key"]:
        raise WireError("a KEXINIT without key exchange or host key algorithms")
    return KexInit(**lists, first_kex_follows=bool(follows))


def kexinit(cookie: bytes, lists: dict[str, tuple[str, ...]]) -> bytes:
    """Our KEXINIT payload; `lists` maps each of KEXINIT_LISTS to its names."""
    body = bytearray([MSG_KEXINIT]) + cookie
    for name in KEXINIT_LISTS:
        body += string(",".join(lists.get(name, ())).encode("ascii"))
    return bytes(body + b"\x00" + bytes(4))


def string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def uint32(value: int) -> bytes:
    return struct.pack(">I", value)


def mpint(value: int) -> bytes:
    """A non-negative mpint (RFC 4251 5): a leading zero byte when the top bit is set."""
    return string(value.to_bytes((value.bit_length() + 8) // 8, "big") if value else b"")


# ---------------------------------------------------------------------- key exchange replies

_CURVE_BITS = {"nistp256": 256, "nistp384": 384, "nistp521": 521}


def host_key_blob(blob: bytes) -> HostKeyBlob:
    """The type and size of a public host key (RFC 4253 6.6, RFC 5656, RFC 8709)."""
    r = Reader(blob)
    key_type = r.string().decode("ascii", "replace")
    if key_type == "ssh-rsa":
        r.mpint()  # e
        bits = r.mpint().bit_length()
    elif key_type == "ssh-dss":
        bits = r.mpint().bit_length()  # p
        for _ in range(3):  # q, g, y
            r.mpint()
    elif key_type == "ssh-ed25519":
        if len(r.string()) != 32:
            raise WireError("an ssh-ed25519 key that is not 32 bytes")
        bits = 256
    elif key_type == "ssh-ed448":
        if len(r.string()) != 57:
            raise WireError("an ssh-ed448 key that is not 57 bytes")
        bits = 456
    elif key_type.startswith("ecdsa-sha2-"):
        curve = r.string().decode("ascii", "replace")
        if curve not in _CURVE_BITS or f"ecdsa-sha2-{curve}" != key_type:
            raise WireError(f"an ECDSA key on unknown curve {curve[:40]!r}")
        r.string()  # the point
        bits = _CURVE_BITS[curve]
    else:
        raise WireError(f"an unknown host key type {key_type[:80]!r}")
    r.end()
    return HostKeyBlob(key_type, bits)


def parse_kex_reply(payload: bytes) -> HostKeyBlob:
    """The host key of a KEX_ECDH_REPLY / KEXDH_REPLY: string K_S, then Q_S and a signature."""
    r = Reader(payload)
    if r.byte() != MSG_KEX_ECDH_REPLY:
        raise WireError("not a key exchange reply")
    key = host_key_blob(r.string())
    r.string()  # the server's ephemeral key
    r.string()  # the signature over the exchange hash (not verified: no trust is decided here)
    r.end()
    return key


def parse_gex_group(payload: bytes) -> int:
    """The size in bits of the prime of a KEX_DH_GEX_GROUP (RFC 4419)."""
    r = Reader(payload)
    if r.byte() != MSG_KEX_ECDH_REPLY:
        raise WireError("not a group exchange group")
    p = r.mpint()
    r.mpint()  # g
    r.end()
    return p.bit_length()


def disconnect_reason(payload: bytes) -> str:
    """The text of an SSH_MSG_DISCONNECT, printable characters only, bounded."""
    try:
        r = Reader(payload)
        r.byte()
        code = r.uint32()
        text = r.string().decode("utf-8", "replace")
    except WireError:
        return "a malformed disconnect message"
    shown = "".join(c for c in text if c.isprintable())[:200]
    return f"code {code}: {shown}" if shown else f"code {code}"
