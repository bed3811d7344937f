"""Post-quantum readiness of a TLS 1.3 endpoint: does it accept a hybrid ML-KEM key exchange?

sslyze (and nassl's OpenSSL) cannot offer X25519MLKEM768, so this module writes the one
ClientHello it needs by hand: TLS 1.3 only, the hybrid groups as the only supported groups, and
no key share at all. A server that accepts one of them must answer with a HelloRetryRequest
naming it (RFC 8446 4.1.4), which costs it no key material and us no ML-KEM implementation; a
server that accepts none answers with an alert. The handshake never completes: the socket is
closed as soon as the first answer has been read, on every path, within one deadline.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.probes.tls import sslyze_adapter
from harness.probes.tls.model import TlsScan

# TLS NamedGroup code points (IANA "TLS Supported Groups")
HYBRID_GROUPS = {
    0x11EC: "X25519MLKEM768",
    0x11EB: "SecP256r1MLKEM768",
    0x11ED: "SecP384r1MLKEM1024",
}
_HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
_SUITES = (0x1301, 0x1302, 0x1303)
_SIGNATURES = (0x0403, 0x0503, 0x0603, 0x0807, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601)
MAX_RECORD = 16384 + 2048  # a record longer than TLS allows is not a TLS answer


@dataclass(frozen=True)
class PqAnswer:
    """What the server said to a ClientHello that offers only hybrid post-quantum groups."""

    selected: str | None  # the group it chose, or None when it refused them all
    how: str  # what was seen, in words, for the evidence


class NotTls13(ValueError):
    """The answer shows no TLS 1.3 (an alert for the version, or an older ServerHello)."""


def _ext(kind: int, body: bytes) -> bytes:
    return struct.pack("!HH", kind, len(body)) + body


def client_hello(server_name: str | None) -> bytes:
    groups = b"".join(struct.pack("!H", g) for g in HYBRID_GROUPS)
    extensions = [
        _ext(0x002B, b"\x02\x03\x04"),  # supported_versions: TLS 1.3 only
        _ext(0x000A, struct.pack("!H", len(groups)) + groups),  # supported_groups
        _ext(0x0033, struct.pack("!H", 0)),  # key_share: none, so a HelloRetryRequest names one
        _ext(0x000D, _list16(_SIGNATURES)),  # signature_algorithms
        _ext(0x002D, b"\x01\x01"),  # psk_key_exchange_modes: psk_dhe_ke
    ]
    if server_name:
        name = server_name.encode("idna")
        entry = b"\x00" + struct.pack("!H", len(name)) + name
        extensions.insert(0, _ext(0x0000, struct.pack("!H", len(entry)) + entry))
    body = (
        b"\x03\x03"
        + os.urandom(32)
        + b"\x20"
        + os.urandom(32)  # a legacy session id, as middlebox-compatible clients send
        + _list16(_SUITES)
        + b"\x01\x00"
        + _vec16(b"".join(extensions))
    )
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack("!H", len(handshake)) + handshake


def _list16(values: tuple[int, ...]) -> bytes:
    return _vec16(b"".join(struct.pack("!H", v) for v in values))


def _vec16(data: bytes) -> bytes:
    return struct.pack("!H", len(data)) + data


def parse_answer(record_type: int, fragment: bytes) -> PqAnswer:
    """Read the server's first record; ValueError when it is not a well-formed answer."""
    if record_type == 0x15:  # alert
        if len(fragment) < 2:
            raise ValueError("a truncated alert")
        if fragment[1] == 70:  # protocol_version
            raise NotTls13("the server refused TLS 1.3 (protocol_version alert)")
        return PqAnswer(None, f"the server refused the hybrid groups (alert {fragment[1]})")
    if record_type != 0x16 or len(fragment) < 4 or fragment[0] != 0x02:
        raise ValueError("the first answer is not a ServerHello")
    length = int.from_bytes(fragment[1:4], "big")
    body = fragment[4 : 4 + length]
    if len(body) != length or len(body) < 38:
        raise ValueError("a truncated ServerHello")
    random = body[2:34]
    pos = 34
    sid_len = body[pos]
    pos += 1 + sid_len + 2 + 1  # session id, cipher suite, compression
    if pos + 2 > len(body):
        raise ValueError("a truncated ServerHello")
    ext_len = int.from_bytes(body[pos : pos + 2], "big")
    pos += 2
    end = pos + ext_len
    if end > len(body):
        raise ValueError("ServerHello extensions overrun the message")
    version = None
    group = None
    while pos + 4 <= end:
        kind, size = struct.unpack("!HH", body[pos : pos + 4])
        data = body[pos + 4 : pos + 4 + size]
        if len(data) != size:
            raise ValueError("a truncated ServerHello extension")
        if kind == 0x002B and size == 2:
            version = data
        elif kind == 0x0033 and size >= 2:
            group = int.from_bytes(data[:2], "big")
        pos += 4 + size
    if version != b"\x03\x04":
        raise NotTls13("the server answered with a version older than TLS 1.3")
    if group is None:
        raise ValueError("a TLS 1.3 ServerHello without a key share")
    name = HYBRID_GROUPS.get(group, f"group 0x{group:04x}")
    retry = random == _HRR_RANDOM
    return PqAnswer(name, f"{'HelloRetryRequest' if retry else 'ServerHello'} selecting {name}")


def probe(
    connect: Callable[[], socket.socket], server_name: str | None, timeout: float
) -> PqAnswer:
    """One ClientHello on a socket from `connect` (the TLS probe's own opener, so the endpoint's
    connection budget and pace hold), the first answer read, the socket closed. Raises OSError
    (refused, reset, timed out), NotTls13, or ValueError (not a TLS answer)."""
    deadline = time.monotonic() + timeout
    sock = connect()
    try:
        sock.sendall(client_hello(server_name))
        header = _read(sock, 5, deadline)
        record_type, _, length = struct.unpack("!BHH", header)
        if length > MAX_RECORD:
            raise ValueError(f"a record of {length} bytes")
        return parse_answer(record_type, _read(sock, length, deadline))
    finally:
        sock.close()


def _read(sock: socket.socket, n: int, deadline: float) -> bytes:
    data = b""
    while len(data) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no complete answer before the deadline")
        sock.settimeout(left)
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionResetError("the server closed the connection without an answer")
        data += chunk
    return data


def with_post_quantum(scan: TlsScan, result: Any) -> TlsScan:
    """The scan with post_quantum measured, on TLS 1.3 endpoints reached directly; a failure
    becomes an error (the check is then broken), never a verdict."""
    if "TLS 1.3" not in scan.offered_names() or scan.starttls or result.connectivity_result is None:
        return scan
    location, config = result.server_location, result.network_configuration
    timeout = float(config.network_timeout)

    def connect() -> socket.socket:
        # sslyze's own opener, looked up at each call: whatever wraps it wraps this socket too
        return sslyze_adapter.open_direct(location, config.network_timeout)

    try:
        answer = probe(connect, config.tls_server_name_indication, timeout)
    except (OSError, ValueError) as exc:  # NotTls13 too: the scan saw TLS 1.3 offered
        why = f"the post-quantum ClientHello got no usable answer ({exc or type(exc).__name__})"
        return dataclasses.replace(scan, errors=(*scan.errors, ("post_quantum", why)))
    return dataclasses.replace(
        scan, post_quantum=answer.selected or "", post_quantum_note=answer.how
    )
