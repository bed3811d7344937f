"""One SSH connection of the ssh probe, up to the point where keys would be agreed.

Each connection sends our version line, reads the server's version line and KEXINIT, and may
go one message further: a key-exchange init for one host key algorithm (the reply carries the
host key in clear text), or a group-exchange request for a small group. It then closes: no
NEWKEYS, no user authentication, no credential. Every read is bounded by size and the whole
connection by a Watchdog deadline, so a silent or dripping server cannot hold the probe.
"""

from __future__ import annotations

import os
import secrets
import socket

from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from harness.errors import FailureKind
from harness.probes import ssh_wire as wire
from harness.probes.deadline import Watchdog, deadline_for

OUR_VERSION = b"SSH-2.0-harness_probe\r\n"  # no software version: nothing to fingerprint
MAX_SKIPPED = 8  # IGNORE/DEBUG packets tolerated before the message we wait for
# the key exchanges we can start: the client half of each is one public key
ECDH_KEX = ("curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256")
# classic Diffie-Hellman, for servers without ECDH: the client half is an mpint e, which the
# server only checks to lie in 1 < e < p - 1 with enough bits set; since the exchange is never
# finished, e needs no secret exponent behind it, and no group prime is needed here
DH_KEX = (
    "diffie-hellman-group14-sha256",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
    "diffie-hellman-group14-sha1",
    "diffie-hellman-group1-sha1",
)
KEX_METHODS = ECDH_KEX + DH_KEX
GEX_REQUEST_BITS = 1024  # min = preferred = max: does the server hand out a 1024-bit group?


class SessionError(Exception):
    def __init__(self, kind: FailureKind, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


class Closed(SessionError):
    """The server closed the connection (or disconnected) where a message was expected."""


class Session:
    """`with Session(host, port, timeout) as s:` connects and reads the server's KEXINIT."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._buf = b""
        self._sock: socket.socket | None = None
        self._watchdog = Watchdog(deadline_for(timeout))
        self.version: wire.Version | None = None
        self.kexinit: wire.KexInit | None = None

    def __enter__(self) -> Session:
        self._watchdog.__enter__()
        try:
            self._connect()
            self.version = self._read_version()
            try:
                self.kexinit = wire.parse_kexinit(self.read_packet(wire.MSG_KEXINIT))
            except wire.WireError as exc:
                raise SessionError(FailureKind.PROTOCOL, f"a malformed KEXINIT: {exc}") from None
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._sock is not None:
            self._sock.close()  # closed on every path, before the watchdog forgets it
            self._sock = None
        self._watchdog.__exit__(None, None, None)

    # ------------------------------------------------------------------------------ transport

    def _connect(self) -> None:
        try:
            self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except ConnectionRefusedError:
            raise SessionError(FailureKind.REFUSED, "connection refused") from None
        except TimeoutError:
            raise SessionError(
                FailureKind.TIMEOUT, f"no TCP connection within {self.timeout:g} s"
            ) from None
        except OSError as exc:
            raise SessionError(
                FailureKind.ERROR, f"cannot connect: {exc.strerror or exc}"
            ) from None
        self._watchdog.watch(self._sock)
        self.send(OUR_VERSION)

    def send(self, data: bytes) -> None:
        assert self._sock is not None
        try:
            self._sock.sendall(data)
        except OSError as exc:
            raise Closed(
                FailureKind.PROTOCOL, f"the server closed the connection ({exc})"
            ) from None

    def _more(self, what: str) -> None:
        assert self._sock is not None
        try:
            chunk = self._sock.recv(4096)
        except TimeoutError:
            raise SessionError(
                FailureKind.TIMEOUT, f"no {what} within {self.timeout:g} s"
            ) from None
        except ConnectionResetError:
            raise Closed(
                FailureKind.PROTOCOL, f"the server reset the connection before {what}"
            ) from None
        except OSError as exc:
            raise Closed(
                FailureKind.PROTOCOL, f"the connection failed reading {what}: {exc}"
            ) from None
        if not chunk:
            if self._watchdog.fired:
                raise SessionError(
                    FailureKind.TIMEOUT,
                    f"the {deadline_for(self.timeout):g} s deadline passed reading {what} "
                    "(a server that sends slowly or never stops)",
                )
            raise Closed(FailureKind.PROTOCOL, f"the server closed the connection before {what}")
        self._buf += chunk

    def _exact(self, n: int, what: str) -> bytes:
        while len(self._buf) < n:
            self._more(what)
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def _line(self) -> bytes:
        while b"\n" not in self._buf[: wire.MAX_LINE]:
            if len(self._buf) >= wire.MAX_LINE:
                raise wire.WireError(f"a line longer than {wire.MAX_LINE} bytes")
            self._more("SSH version line")
        line, _, self._buf = self._buf.partition(b"\n")
        return line.removesuffix(b"\r")

    def _read_version(self) -> wire.Version:
        first = b""
        for _ in range(wire.MAX_PRE_LINES + 1):
            try:
                line = self._line()
            except Closed:
                if first:
                    raise self._not_ssh(first) from None
                raise
            except wire.WireError as exc:
                raise SessionError(FailureKind.PROTOCOL, f"not an SSH server: {exc}") from None
            version = wire.parse_version(line)
            if version is None:
                first = first or line or b"(an empty line)"
                continue
            if version.protocol not in ("2.0", "1.99"):
                raise SessionError(
                    FailureKind.PROTOCOL,
                    f"the server speaks SSH protocol {version.protocol} only ({version.line!r})",
                )
            return version
        raise self._not_ssh(first)

    @staticmethod
    def _not_ssh(first: bytes) -> SessionError:
        said = "".join(c if c.isprintable() else "." for c in first[:80].decode("latin-1"))
        return SessionError(
            FailureKind.PROTOCOL, f"not an SSH server: no SSH version line (it said {said!r})"
        )

    def read_packet(self, expected: int) -> bytes:
        """The payload of the next packet of type `expected`, skipping IGNORE and DEBUG."""
        for _ in range(MAX_SKIPPED + 1):
            try:
                length = wire.packet_length(self._exact(4, "SSH packet"))
                payload = wire.packet_payload(self._exact(length, "SSH packet"))
            except wire.WireError as exc:
                raise SessionError(FailureKind.PROTOCOL, f"a malformed SSH packet: {exc}") from None
            if not payload:
                raise SessionError(FailureKind.PROTOCOL, "an SSH packet without a message")
            if payload[0] == expected:
                return payload
            if payload[0] == wire.MSG_DISCONNECT:
                raise Closed(
                    FailureKind.PROTOCOL,
                    f"the server disconnected ({wire.disconnect_reason(payload)})",
                )
            if payload[0] not in wire.SKIPPABLE:
                raise SessionError(
                    FailureKind.PROTOCOL,
                    f"message {payload[0]} where message {expected} was expected",
                )
        raise SessionError(FailureKind.PROTOCOL, f"more than {MAX_SKIPPED} ignorable packets")

    # --------------------------------------------------------------------------- one step on

    def _send_kexinit(self, kex: str, host_key: str) -> None:
        """Our KEXINIT: one key exchange and one host key algorithm; the server's own cipher,
        MAC and compression lists, so that negotiation can only fail on what we ask about."""
        assert self.kexinit is not None
        k = self.kexinit
        lists = {
            "kex": (kex,),
            "host_key": (host_key,),
            "ciphers_c2s": k.ciphers_c2s,
            "ciphers_s2c": k.ciphers_s2c,
            "macs_c2s": k.macs_c2s,
            "macs_s2c": k.macs_s2c,
            "compression_c2s": k.compression_c2s,
            "compression_s2c": k.compression_s2c,
        }
        self.send(wire.packet(wire.kexinit(os.urandom(16), lists)))

    def host_key(self, algorithm: str) -> wire.HostKeyBlob:
        """The host key the server signs with for `algorithm`, from its key-exchange reply."""
        assert self.kexinit is not None
        kex = next((k for k in KEX_METHODS if k in self.kexinit.kex), None)
        if kex is None:
            raise SessionError(
                FailureKind.PROTOCOL,
                "the server offers no key exchange the probe can start "
                f"({', '.join(KEX_METHODS)}), so its host keys cannot be read",
            )
        self._send_kexinit(kex, algorithm)
        half = wire.string(_ephemeral(kex)) if kex in ECDH_KEX else wire.mpint(_dh_value())
        self.send(wire.packet(bytes([wire.MSG_KEX_ECDH_INIT]) + half))
        try:
            return wire.parse_kex_reply(self.read_packet(wire.MSG_KEX_ECDH_REPLY))
        except wire.WireError as exc:
            raise SessionError(
                FailureKind.PROTOCOL, f"a malformed key exchange reply: {exc}"
            ) from None

    def small_group(self, kex: str) -> int | None:
        """Ask a group exchange for a 1024-bit group: its size in bits, or None when refused
        (the server disconnected or closed instead of answering)."""
        assert self.kexinit is not None
        self._send_kexinit(kex, self.kexinit.host_key[0])
        self.send(
            wire.packet(bytes([wire.MSG_KEX_DH_GEX_REQUEST]) + wire.uint32(GEX_REQUEST_BITS) * 3)
        )
        try:
            return wire.parse_gex_group(self.read_packet(wire.MSG_KEX_ECDH_REPLY))
        except Closed:
            return None
        except wire.WireError as exc:
            raise SessionError(
                FailureKind.PROTOCOL, f"a malformed group exchange group: {exc}"
            ) from None


def _dh_value() -> int:
    """A 1000-bit e: below every group's prime (1024 bits and up), with many bits set."""
    return secrets.randbits(1000) | (1 << 999) | 1


def _ephemeral(kex: str) -> bytes:
    """A fresh client public key for `kex` (the exchange is never finished)."""
    if kex.startswith("curve25519"):
        return x25519.X25519PrivateKey.generate().public_key().public_bytes_raw()
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
