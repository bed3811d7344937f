"""Login services of the lab: a password SSH server with an old identification string, and an
anonymous FTP server with an old greeting. Tests reuse both with their own accounts."""

from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path
from typing import Any

import paramiko

SSH_IDENT = "SSH-2.0-OpenSSH_7.4"
LAB_SSH_ACCOUNTS = {"deploy": "123456"}  # a throwaway account with a weak password


class _PasswordOnly(paramiko.ServerInterface):  # type: ignore[misc]
    def __init__(self, server: SshServer) -> None:
        self.server = server

    def get_allowed_auths(self, username: str) -> str:
        return "password"

    def check_auth_password(self, username: str, password: str) -> int:
        with self.server.lock:
            self.server.attempts += 1
            locked = self.server.failures >= self.server.lock_after
            ok = not locked and (
                self.server.accept_any or self.server.accounts.get(username) == password
            )
            if not ok:
                self.server.failures += 1
        return int(paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED)

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return int(paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED)  # no shell: login is all


class SshServer:
    """A paramiko SSH server on loopback that only authenticates; counts password attempts.

    After `lock_after` failures it refuses new connections, like fail2ban or sshd's
    PerSourcePenalties."""

    def __init__(
        self,
        host: str,
        port: int,
        accounts: dict[str, str],
        ident: str = SSH_IDENT,
        lock_after: int = 1_000_000,
        accept_any: bool = False,
        legacy_transport: bool = False,
    ) -> None:
        self.accounts = accounts
        self.legacy_transport = legacy_transport
        self.accept_any = accept_any  # a honeypot-like server: every password "works"
        self.ident = ident
        self.lock_after = lock_after
        self.attempts = 0
        self.failures = 0
        self.lock = threading.Lock()
        self.key = paramiko.RSAKey.generate(2048)
        self.sock = socket.create_server((host, port))
        self.port: int = self.sock.getsockname()[1]
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True, name=f"ssh-{self.port}").start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if self.failures >= self.lock_after:
                conn.close()
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        # the lab's legacy transport: no strict key exchange (Terrapin with CBC + EtM), CBC and
        # 3DES, MD5 and 96-bit MACs, for the ssh area; a client still negotiates its own first
        # choice (paramiko's AES-CTR), so logins work as before
        transport = paramiko.Transport(conn, strict_kex=not self.legacy_transport)
        if self.legacy_transport:
            options = transport.get_security_options()
            options.ciphers = ("aes128-ctr", "aes256-ctr", "aes128-cbc", "aes256-cbc", "3des-cbc")
            options.digests = (
                "hmac-sha2-256-etm@openssh.com",
                "hmac-sha2-256",
                "hmac-sha1",
                "hmac-md5",
                "hmac-sha1-96",
            )
        transport.local_version = self.ident
        transport.add_server_key(self.key)
        try:
            transport.start_server(server=_PasswordOnly(self))
            transport.accept(timeout=30)  # waits for the client to finish and leave
        except (paramiko.SSHException, EOFError, OSError):
            pass
        finally:
            transport.close()

    def close(self) -> None:
        self._stop.set()
        self.sock.close()


def ssh_banner(host: str, port: int = 2222) -> Any:
    """The lab's SSH service: OpenSSH 7.4's identification, a legacy transport (CBC, 3DES, MD5,
    no strict key exchange), and deploy/123456."""
    # a port scan that hangs up before the banner is not an error worth a log line in the lab
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    return SshServer(host, port, dict(LAB_SSH_ACCOUNTS), legacy_transport=True)


def anonymous_ftp(host: str, port: int, root: Path) -> Any:
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import ThreadedFTPServer

    root.mkdir(parents=True, exist_ok=True)
    (root / "README.txt").write_text("harness demo lab: anonymous FTP is a finding\n")
    authorizer = DummyAuthorizer()
    authorizer.add_anonymous(str(root))
    # vsftpd's delay_failed_login is 1 s (pyftpdlib's default of 3 s would slow every scan)
    attrs = {"authorizer": authorizer, "banner": "(vsFTPd 2.3.4)", "auth_failed_timeout": 1}
    handler = type("LabFTP", (FTPHandler,), attrs)
    server = ThreadedFTPServer((host, port), handler)
    threading.Thread(target=server.serve_forever, daemon=True, name=f"lab-ftp-{port}").start()
    return server
