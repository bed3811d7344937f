"""The SSH parser treats every byte as hostile: each malformed field is a WireError, never an
IndexError, a huge allocation or a wrong answer."""

from __future__ import annotations

import struct

import pytest

from harness.probes import ssh_wire as wire

LISTS = {
    "kex": ("curve25519-sha256", "kex-strict-s-v00@openssh.com"),
    "host_key": ("ssh-ed25519", "rsa-sha2-512"),
    "ciphers_c2s": ("aes128-ctr",),
    "ciphers_s2c": ("aes128-ctr", "3des-cbc"),
    "macs_c2s": ("hmac-sha2-256",),
    "macs_s2c": ("hmac-sha2-256",),
    "compression_c2s": ("none",),
    "compression_s2c": ("none",),
}


def _kexinit(**replace: bytes) -> bytes:
    """A KEXINIT payload whose name-lists may be replaced by raw encoded fields."""
    body = bytearray([wire.MSG_KEXINIT]) + bytes(16)
    for name in wire.KEXINIT_LISTS:
        raw = replace.get(name, ",".join(LISTS.get(name, ())).encode())
        body += wire.string(raw)
    return bytes(body) + b"\x00" + bytes(4)


def test_a_kexinit_round_trips_in_server_order() -> None:
    parsed = wire.parse_kexinit(wire.kexinit(bytes(16), dict(LISTS)))
    assert parsed.kex == LISTS["kex"]
    assert parsed.ciphers_s2c == ("aes128-ctr", "3des-cbc")
    assert parsed.languages_c2s == () and not parsed.first_kex_follows


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (_kexinit()[:-1], "past the end"),  # truncated reserved field
        (_kexinit() + b"x", "unexpected bytes"),
        (_kexinit(kex=b"a,,b"), "invalid algorithm name"),
        (_kexinit(kex=b"a b"), "invalid algorithm name"),
        (_kexinit(kex=b"x" * 65), "invalid algorithm name"),
        (_kexinit(kex="caf\u00e9".encode()), "not ASCII"),
        (_kexinit(kex=b""), "without key exchange"),
        (bytes([wire.MSG_KEXINIT]) + bytes(16) + struct.pack(">I", 0xFFFFFFFF), "past the end"),
        (bytes([21]) + _kexinit()[1:], "not a KEXINIT"),
        (b"", "past the end"),
    ],
)
def test_a_malformed_kexinit_is_a_wire_error(payload: bytes, why: str) -> None:
    with pytest.raises(wire.WireError, match=why):
        wire.parse_kexinit(payload)


@pytest.mark.parametrize(
    ("header", "why"),
    [
        (struct.pack(">I", 0xFFFFFFF0), "outside"),  # a 4 GB claim is refused before reading
        (struct.pack(">I", wire.MAX_PACKET + 4), "outside"),
        (struct.pack(">I", 4), "outside"),
        (struct.pack(">I", 13), "not aligned"),
        (b"\x00\x00", "4 bytes"),
    ],
)
def test_a_packet_length_is_checked_before_reading(header: bytes, why: str) -> None:
    with pytest.raises(wire.WireError, match=why):
        wire.packet_length(header)


def test_padding_must_fit_and_be_at_least_four() -> None:
    with pytest.raises(wire.WireError, match="padding length"):
        wire.packet_payload(bytes([3]) + b"payload" + bytes(3))
    with pytest.raises(wire.WireError, match="padding length"):
        wire.packet_payload(bytes([200]) + bytes(11))
    framed = wire.packet(b"\x14hello")
    assert (len(framed)) % wire.BLOCK == 0
    assert wire.packet_payload(framed[4:]) == b"\x14hello"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10", ("2.0", "OpenSSH_9.2p1", "Debian-2+deb12u10")),
        (b"SSH-1.99-Cisco-1.25", ("1.99", "Cisco-1.25", "")),
        (b"220 mail.example.org ESMTP", None),
    ],
)
def test_version_lines(line: bytes, expected: tuple[str, str, str] | None) -> None:
    v = wire.parse_version(line)
    assert (v.protocol, v.software, v.comment) == expected if v else expected is None


@pytest.mark.parametrize("line", [b"SSH-2.0", b"SSH-2.0-", b"SSH-2.0-a\x1b[2J", b"SSH-2.0-\xff"])
def test_a_malformed_version_line_is_a_wire_error(line: bytes) -> None:
    with pytest.raises(wire.WireError):
        wire.parse_version(line)


def _mpint(value: int) -> bytes:
    return wire.string(value.to_bytes((value.bit_length() + 8) // 8, "big"))


def _reply(blob: bytes, trailing: bytes = b"") -> bytes:
    return (
        bytes([wire.MSG_KEX_ECDH_REPLY])
        + wire.string(blob)
        + wire.string(b"q")
        + wire.string(b"s")
        + trailing
    )


def test_host_key_sizes_are_read_from_the_key_blob() -> None:
    rsa = wire.string(b"ssh-rsa") + _mpint(65537) + _mpint((1 << 2047) | 1)
    assert wire.parse_kex_reply(_reply(rsa)) == wire.HostKeyBlob("ssh-rsa", 2048)
    dsa = wire.string(b"ssh-dss") + _mpint(1 << 1023) + _mpint(3) + _mpint(2) + _mpint(5)
    assert wire.host_key_blob(dsa).bits == 1024
    ec = wire.string(b"ecdsa-sha2-nistp384") + wire.string(b"nistp384") + wire.string(b"\x04" * 97)
    assert wire.host_key_blob(ec).bits == 384


@pytest.mark.parametrize(
    ("blob", "why"),
    [
        (wire.string(b"ssh-ed25519") + wire.string(bytes(31)), "not 32 bytes"),
        (wire.string(b"ssh-rsa") + _mpint(3), "past the end"),
        (wire.string(b"ssh-rsa") + _mpint(3) + wire.string(b"\x80\x01"), "negative"),
        (
            wire.string(b"ecdsa-sha2-nistp256") + wire.string(b"nistp384") + wire.string(b"q"),
            "curve",
        ),
        (wire.string(b"ssh-foo") + wire.string(b"x"), "unknown host key type"),
        (wire.string(b"ssh-ed25519") + wire.string(bytes(32)) + b"!", "unexpected bytes"),
    ],
)
def test_a_malformed_host_key_is_a_wire_error(blob: bytes, why: str) -> None:
    with pytest.raises(wire.WireError, match=why):
        wire.parse_kex_reply(_reply(blob))


def test_a_group_exchange_group_gives_the_prime_size() -> None:
    payload = bytes([wire.MSG_KEX_ECDH_REPLY]) + _mpint((1 << 1023) | 1) + _mpint(2)
    assert wire.parse_gex_group(payload) == 1024
    with pytest.raises(wire.WireError):
        wire.parse_gex_group(payload[:-2])


def test_a_disconnect_reason_is_printable_and_bounded() -> None:
    payload = (
        bytes([1])
        + struct.pack(">I", 3)
        + wire.string(b"bye\x1b[31m" + b"x" * 500)
        + wire.string(b"")
    )
    reason = wire.disconnect_reason(payload)
    assert reason.startswith("code 3: bye") and "\x1b" not in reason and len(reason) < 220
    assert wire.disconnect_reason(b"\x01") == "a malformed disconnect message"


def test_mpints_are_encoded_as_rfc_4251_says() -> None:
    assert wire.mpint(0) == bytes(4)
    assert wire.mpint(0x80) == b"\x00\x00\x00\x02\x00\x80"  # a leading zero keeps it positive
    assert wire.Reader(wire.mpint(0x1234567)).mpint() == 0x1234567
