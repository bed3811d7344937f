"""Real SSH servers for the ssh area's tests, on 127.0.0.1 and free ports.

`Sshd` is Debian's OpenSSH with a config of the test's choosing (hardened, legacy) and its own
host keys; no account is needed, as the ssh probe never logs in. `ParamikoServer` is paramiko's
server mode, which offers what it is told: without strict key exchange, it is the Terrapin
failure that today's Debian build cannot show. `SilentServer` accepts and says nothing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import paramiko
from paramiko.primes import ModulusPack

HOST = "127.0.0.1"
SSHD = "/usr/sbin/sshd"

HARDENED = """\
KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha256
Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr
MACs hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,umac-128-etm@openssh.com
HostKeyAlgorithms ssh-ed25519,rsa-sha2-512,rsa-sha2-256
"""
# every weak choice Debian's OpenSSH 9.2 still accepts when configured, and no post-quantum
LEGACY = """\
KexAlgorithms curve25519-sha256,diffie-hellman-group14-sha1,diffie-hellman-group1-sha1,diffie-hellman-group-exchange-sha1,diffie-hellman-group-exchange-sha256
Ciphers +3des-cbc,aes128-cbc,aes256-cbc
MACs +hmac-md5,hmac-md5-96,hmac-sha1-96
HostKeyAlgorithms +ssh-rsa,ssh-dss
"""


def sshd_available() -> str | None:
    """None, or why the real sshd cannot be started here."""
    if os.geteuid() != 0:
        return "sshd needs root to start"
    for tool in (SSHD, "ssh-keygen"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


def free_port(host: str = HOST) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def wait_listening(port: int, alive: object = None, seconds: float = 20, host: str = HOST) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {host}:{port}")


class Sshd:
    """`Sshd(dir, keys={"ed25519": 256, "rsa": 4096}, config=HARDENED)`: sshd -D on a free port."""

    def __init__(
        self, workdir: Path, keys: dict[str, int], config: str = "", host: str = HOST
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        lines = []
        for kind, bits in keys.items():
            key = workdir / f"host_{kind}"
            size = ["-b", str(bits)] if kind in ("rsa", "ecdsa") else []
            subprocess.run(
                ["ssh-keygen", "-q", "-t", kind, *size, "-N", "", "-f", str(key)], check=True
            )
            lines.append(f"HostKey {key}\n")
        self.port = free_port(host)
        path = workdir / "sshd_config"
        path.write_text(
            f"ListenAddress {host}:{self.port}\n"
            + "".join(lines)
            + "PidFile none\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "PubkeyAuthentication no\nMaxStartups 100\nLogLevel VERBOSE\n" + config
        )
        Path("/run/sshd").mkdir(exist_ok=True)  # the privilege-separation directory
        self.log = workdir / "sshd.log"
        self.proc = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(path)],
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )
        try:
            wait_listening(self.port, host=host)
        except RuntimeError:
            self.close()
            raise RuntimeError(f"sshd did not start: {self.log.read_text()}") from None

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


class _Listener:
    """A thread accepting connections on a free port, handing each to `serve` in a thread."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind((HOST, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port: int = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept, daemon=True)
        self._accepter.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._serve_and_close, args=(conn,), daemon=True)
            self._threads.append(t)
            t.start()

    def _serve_and_close(self, conn: socket.socket) -> None:
        try:
            self.serve(conn)
        except Exception:
            pass
        finally:
            conn.close()

    def serve(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._stop.set()
        self._accepter.join(timeout=5)
        self.sock.close()
        for t in self._threads:
            t.join(timeout=5)


class SilentServer(_Listener):
    """Accepts, then says nothing until the client gives up."""

    def serve(self, conn: socket.socket) -> None:
        conn.settimeout(0.2)
        while not self._stop.is_set():
            try:
                if not conn.recv(4096):
                    return
            except TimeoutError:
                continue


class RawServer(_Listener):
    """Sends fixed bytes (an HTTP answer, a broken SSH stream), then closes; or, with `hold`,
    then says nothing more until the client leaves."""

    def __init__(self, reply: bytes, hold: bool = False) -> None:
        self.reply, self.hold = reply, hold
        super().__init__()

    def serve(self, conn: socket.socket) -> None:
        conn.settimeout(0.2)
        conn.sendall(self.reply)
        if not self.hold:
            time.sleep(0.1)
            return
        while not self._stop.is_set():
            try:
                if not conn.recv(4096):
                    return
            except TimeoutError:
                continue


class ParamikoServer(_Listener):
    """paramiko's SSH server mode with the ciphers and MACs given, strict key exchange off
    unless asked (paramiko 3.4+ offers it by default)."""

    def __init__(
        self,
        ciphers: tuple[str, ...],
        macs: tuple[str, ...],
        strict_kex: bool = False,
        moduli: Path | None = None,
    ) -> None:
        self.key = paramiko.Ed25519Key.from_private_key_file(_ed25519_file())
        self.ciphers, self.macs, self.strict_kex = ciphers, macs, strict_kex
        # the groups its group exchange hands out (an /etc/ssh/moduli file); paramiko keeps them
        # process-wide, so they are set on each transport instead
        self.moduli: ModulusPack | None = None
        if moduli is not None:
            self.moduli = ModulusPack()
            self.moduli.read_file(str(moduli))
        super().__init__()

    def serve(self, conn: socket.socket) -> None:
        transport = paramiko.Transport(conn, strict_kex=self.strict_kex)
        if self.moduli is not None:
            transport._modulus_pack = self.moduli
        try:
            options = transport.get_security_options()
            options.ciphers = self.ciphers
            options.digests = self.macs
            transport.add_server_key(self.key)
            transport.start_server(server=paramiko.ServerInterface())
            deadline = time.monotonic() + 5
            while transport.is_active() and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            transport.close()


_KEY_DIR: list[Path] = []


def _ed25519_file() -> str:
    """One Ed25519 key for every paramiko server of the run (ssh-keygen writes OpenSSH format,
    which paramiko reads; it cannot generate Ed25519 keys itself)."""
    import tempfile

    if not _KEY_DIR:
        _KEY_DIR.append(Path(tempfile.mkdtemp(prefix="ssh-test-key-")))
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(_KEY_DIR[0] / "key")],
            check=True,
        )
    return str(_KEY_DIR[0] / "key")
