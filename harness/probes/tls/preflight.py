"""One quick handshake per endpoint before sslyze, so dead and silent ports fail fast.

sslyze tries every TLS version in turn against a port that accepts TCP and then says nothing,
waiting the full timeout each time (about 11 x the timeout, measured here). One Python
handshake with the declared timeout tells a silent port apart in one timeout, and a closed
port at once. Anything that answers, even with an error, goes on to sslyze.
"""

from __future__ import annotations

import socket
import ssl

from harness.errors import FailureKind, ProbeFailure


def _connect(ip: str, port: int, timeout: float, where: str) -> socket.socket | ProbeFailure:
    try:
        return socket.create_connection((ip, port), timeout=timeout)
    except ConnectionRefusedError:
        return ProbeFailure(FailureKind.REFUSED, where, f"connection refused on port {port}")
    except TimeoutError:
        return ProbeFailure(
            FailureKind.TIMEOUT, where, f"no answer to a TCP connection within {timeout:g} s"
        )
    except OSError as exc:
        return ProbeFailure(FailureKind.REFUSED, where, f"cannot connect: {exc.strerror or exc}")


def reachable(ip: str, port: int, timeout: float, where: str) -> ProbeFailure | None:
    """Does anything accept a TCP connection? Closed at once: a server that serves one
    connection at a time only meets an empty connection later, so this can run beside the
    host's other probes, and a silent host fails in one timeout instead of waiting for them."""
    sock = _connect(ip, port, timeout, where)
    if isinstance(sock, ProbeFailure):
        return sock
    sock.close()
    return None


def preflight(
    ip: str, port: int, server_name: str, timeout: float, where: str, starttls: bool
) -> ProbeFailure | None:
    sock = _connect(ip, port, timeout, where)
    if isinstance(sock, ProbeFailure):
        return sock
    if starttls:  # the plain-text greeting differs per protocol; sslyze speaks them all
        sock.close()
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with ctx.wrap_socket(sock, server_hostname=server_name):
            return None
    except TimeoutError:
        return ProbeFailure(
            FailureKind.TIMEOUT,
            where,
            f"the port accepts TCP connections but no TLS handshake completed within {timeout:g} s"
            " (not a TLS service, or a STARTTLS endpoint declared without starttls)",
        )
    except (ssl.SSLError, OSError):
        return None  # it speaks; sslyze finds out what
    finally:
        sock.close()
