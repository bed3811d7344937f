"""What the ssh probe measured on one endpoint, as frozen data: policy imports this, never the
probe that opens sockets."""

from __future__ import annotations

from dataclasses import dataclass

STRICT_KEX_SERVER = "kex-strict-s-v00@openssh.com"  # the Terrapin countermeasure's marker


@dataclass(frozen=True)
class HostKey:
    """A host key the server proved it holds, read with one key exchange for `algorithm`."""

    algorithm: str  # the host key algorithm asked for: "rsa-sha2-512"
    key_type: str  # the key it sent: "ssh-rsa"
    bits: int


@dataclass(frozen=True)
class SshScan:
    """One SSH endpoint: the version line, the server's algorithm lists in its order, the host
    keys read, and the group-exchange answer. `unread` names the host key algorithms whose key
    could not be read, with why; `notes` say what else could not be asked."""

    host: str
    port: int
    where: str
    version: str
    kex: tuple[str, ...]
    host_key_algorithms: tuple[str, ...]
    ciphers: tuple[str, ...]  # server to client and client to server, merged in server order
    macs: tuple[str, ...]
    compression: tuple[str, ...]
    host_keys: tuple[HostKey, ...] = ()
    unread: tuple[str, ...] = ()
    gex_small_group_bits: int | None = None  # the group sent for a 1024-bit request, if any
    gex_refused_small: bool | None = None  # True: refused to give a 1024-bit group
    notes: tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def strict_kex(self) -> bool:
        return STRICT_KEX_SERVER in self.kex
