"""The ftp login kind: USER/PASS with ftplib, over AUTH TLS whenever the server offers it."""

from __future__ import annotations

import ftplib
import re
import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.errors import FailureKind, ProbeFailure
from harness.inventory import LoginEndpoint
from harness.probes import Job
from harness.probes.deadline import Watchdog, current, deadline_for
from harness.probes.logins.model import Anonymous, Answer, Channel, Unmeasurable
from harness.probes.logins.web import LOCKOUT_TEXT, verify_of

ANONYMOUS_PASSWORD = "harness@example.invalid"
MAX_REPLY = 64 * 1024  # a multi-line reply longer than this is a flood, not an FTP reply


class _FTP(ftplib.FTP):
    """ftplib with a bounded multi-line reply, whose sockets the current watchdog watches."""

    def getline(self) -> str:
        watchdog = current()
        if watchdog is not None and self.sock is not None:
            watchdog.watch(self.sock)
        try:
            return super().getline()
        except UnicodeDecodeError:
            raise ftplib.error_proto("bytes that are not text") from None  # noqa: S321
        except ftplib.Error as exc:
            if type(exc) is ftplib.Error:  # "got more than 8192 bytes": a line without end
                raise ftplib.error_proto(str(exc)) from None  # noqa: S321
            raise

    def getmultiline(self) -> str:
        # ftplib's own version appends continuation lines for as long as the server sends them
        line = self.getline()
        if line[3:4] == "-":
            code, size = line[:3], len(line)
            while True:
                nextline = self.getline()
                size += len(nextline) + 1
                if size > MAX_REPLY:
                    raise ftplib.error_proto(f"a reply longer than {MAX_REPLY} bytes")  # noqa: S321
                line = line + "\n" + nextline
                if nextline[:3] == code and nextline[3:4] != "-":
                    break
        return line


class _FTPTLS(_FTP, ftplib.FTP_TLS):
    pass


class FtpClient:
    throttles_by_refusing = True  # servers cap connections per address and close on failures

    def __init__(self, job: Job, base_dir: Path | None) -> None:
        assert isinstance(job.endpoint, LoginEndpoint)
        self.host = job.target.host
        self.port = job.endpoint.effective_port
        self.timeout = job.settings.timeout
        self.user = (job.endpoint.usernames or ["admin"])[0]
        verify = verify_of(job, base_dir)
        self.cafile = verify if isinstance(verify, str) else None
        self.tls_offered = False
        self.tls_required = False

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def _connect(self, tls: bool, verified: bool) -> ftplib.FTP:
        if tls:
            if verified:
                ctx = ssl.create_default_context(cafile=self.cafile)
            else:  # a public guess has nothing to protect; the server may be self-signed
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            ftp: ftplib.FTP = _FTPTLS(context=ctx, timeout=self.timeout)
        else:
            ftp = _FTP(timeout=self.timeout)
        try:
            ftp.connect(self.host, self.port, timeout=self.timeout)
            if isinstance(ftp, ftplib.FTP_TLS):
                ftp.auth()
        except TimeoutError:
            raise Unmeasurable(
                FailureKind.TIMEOUT, f"{self.where} did not answer within {self.timeout} s"
            ) from None
        except socket.gaierror:
            raise Unmeasurable(FailureKind.DNS, f"{self.host} does not resolve") from None
        except ssl.SSLError:
            ftp.close()
            raise Unmeasurable(
                FailureKind.PROTOCOL,
                f"the TLS handshake with {self.where} failed or its certificate is not trusted",
            ) from None
        except (ftplib.error_proto, ftplib.error_reply) as exc:
            ftp.close()
            raise Unmeasurable(
                FailureKind.PROTOCOL,
                f"{self.where} did not greet like an FTP server ({str(exc)[:80]})",
            ) from None
        except (OSError, EOFError, ftplib.Error):
            ftp.close()
            raise Unmeasurable(
                FailureKind.REFUSED, f"the FTP connection to {self.where} was refused or closed"
            ) from None
        return ftp

    @contextmanager
    def _deadline(self) -> Iterator[None]:
        """One FTP session within deadline_for(timeout), however slowly the server talks."""
        limit = deadline_for(self.timeout)
        with Watchdog(limit) as watchdog:
            try:
                yield
            except Unmeasurable:
                if watchdog.fired:
                    raise Unmeasurable(
                        FailureKind.TIMEOUT,
                        f"the FTP server on {self.where} did not finish within {limit:g} s "
                        "(it answers too slowly, or without end)",
                    ) from None
                raise

    def channel(self) -> Channel:
        """Does the server take a USER command before TLS? (Only USER is sent, never PASS.)"""
        with self._deadline():
            self._channel()
        if self.tls_required:
            return Channel(True, "FTP with TLS required")
        offered = " (it offers AUTH TLS but does not require it)" if self.tls_offered else ""
        return Channel(
            False,
            "FTP without TLS",
            (f"the FTP server on {self.where} accepts USER and PASS without TLS{offered}",),
        )

    def _channel(self) -> None:
        ftp = self._connect(tls=False, verified=False)
        try:
            try:
                self.tls_offered = "AUTH TLS" in ftp.sendcmd("FEAT").upper()
            except ftplib.Error:
                self.tls_offered = False
            try:
                ftp.sendcmd(f"USER {self.user}")
            except ftplib.error_perm as exc:
                self.tls_required = bool(re.search(r"tls|ssl|secure", str(exc), re.IGNORECASE))
        except (OSError, EOFError, ftplib.Error):
            raise Unmeasurable(
                FailureKind.PROTOCOL, f"the FTP server on {self.where} closed the connection"
            ) from None
        finally:
            ftp.close()

    def password_auth(self) -> str | None:
        return None

    def anonymous(self) -> Anonymous | ProbeFailure | None:
        answer = self.attempt("anonymous", ANONYMOUS_PASSWORD)
        return Anonymous(bool(answer.accepted), "FTP anonymous login", answer.detail)

    def attempt(self, username: str, password: str, secret: bool = False) -> Answer:
        with self._deadline():
            return self._attempt(username, password, secret)

    def _attempt(self, username: str, password: str, secret: bool) -> Answer:
        tls = self.tls_offered or self.tls_required
        ftp = self._connect(tls=tls, verified=secret)
        start = time.monotonic()
        try:
            reply = ftp.login(username, password)
            if not reply.startswith("230"):
                # ftplib takes any 2xx as success; only 230 means "logged in"
                raise Unmeasurable(
                    FailureKind.PROTOCOL,
                    f'the FTP server on {self.where} answered a login with "{reply}"',
                )
            return Answer(True, f"FTP {reply}", ("230",), latency=time.monotonic() - start)
        except (ftplib.error_perm, ftplib.error_temp) as exc:
            text = str(exc)  # whole: the engine masks secrets, then clips
            signals = [f"FTP {text}"] if text.startswith("421") else []
            signals += [
                f"text: {label}"
                for pattern, label in LOCKOUT_TEXT
                if re.search(pattern, text.lower())
            ]
            return Answer(
                False, f"FTP {text}", (text[:3],), tuple(signals), time.monotonic() - start
            )
        except (OSError, EOFError, ftplib.Error):
            raise Unmeasurable(
                FailureKind.PROTOCOL, f"the FTP server on {self.where} closed the connection"
            ) from None
        finally:
            ftp.close()

    def close(self) -> None:
        return None
