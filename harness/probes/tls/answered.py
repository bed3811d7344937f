"""sslyze results where silence can pose as a verdict, measured or cross-checked so it cannot.

Each sslyze 6.3.1 (pinned) result was read for "a timeout or a rejection becomes a verdict";
what was decided:

- fallback SCSV: a timed-out or rejected downgraded handshake means "supported". Measured in
  harness.probes.tls.fallback instead.
- Heartbleed, CCS injection: the hijacked handshake counts a read that times out, fails or finds
  the connection closed as "not vulnerable", even before the server said a word. Run here with
  sslyze's own handshake code, over a socket that counts what the server sent: nothing at all is
  no answer, so broken.
- cipher suites: a handshake that timed out is listed as "rejected" (sslyze says it cannot tell
  one from the other). A suite rejected by a timeout makes its protocol's scan an error, so
  tls.protocols and tls.ciphers are broken rather than passed on a missing suite.
- ROBOT: "RSA not supported" when the RSA handshake was rejected in any way, a reset included.
  Cross-checked against the cipher scans: static RSA suites seen accepted at that version make
  the ROBOT result an error. Left: five payloads that all time out read as "no oracle"; sslyze
  keeps no per-payload responses to tell.
- elliptic curves: a timed-out handshake means "curve rejected". Left: sslyze keeps no reason per
  curve, so a weak curve lost to a timeout can pass tls.key_exchange.
- compression, secure renegotiation: on a TLS 1.3 server, a rejected TLS 1.2 handshake means "no
  compression" / "secure"; a timeout raises (an error, not a verdict). Left: a reset there still
  reads as a verdict.
- client renegotiation: a timeout on the renegotiation, after a completed handshake, means
  "refused". Kept: the server answered the handshake and did not renegotiate, which is the point.
- extended master secret, and Heartbleed and CCS on TLS 1.3 servers: answered without a
  handshake, by inference (TLS 1.3 binds the session hash; no TLS 1.3 stack has those bugs). Kept.
- early data and session resumption: not run.
"""

from __future__ import annotations

import dataclasses
import socket
import types
from typing import Any

from sslyze.scanner.models import ServerScanResult
from sslyze.server_connectivity import ServerConnectivityInfo, TlsVersionEnum

from harness.probes.tls.model import Robot, TlsScan
from harness.probes.tls.sslyze_adapter import (
    CCS_INJECTION,
    HEARTBLEED,
    HijackedHandshake,
    wrap_client_socket,
)

TIMED_OUT = "timed out"  # sslyze's TlsHandshakeTimedOut message says "... timed out during ..."


def silent_rejections(protocol: str, suites_result: Any) -> str | None:
    """A reason when some suites were 'rejected' only by a handshake that timed out."""
    silent = [
        r.cipher_suite.name
        for r in suites_result.rejected_cipher_suites
        if TIMED_OUT in (r.error_message or "")
    ]
    if not silent:
        return None
    return (
        f"{len(silent)} {protocol} cipher suite(s) got no answer (the handshake timed out, which "
        f"sslyze counts as rejected), e.g. {silent[0]}; no answer is no verdict"
    )


class _Counting:
    """A socket that counts the bytes the server sent; everything else goes to the real one."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.received = 0

    def recv(self, size: int) -> bytes:
        data = self._sock.recv(size)
        self.received += len(data)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _hijacked(
    info: ServerConnectivityInfo, test: HijackedHandshake
) -> tuple[bool | None, str | None]:
    """sslyze's hijacked handshake, run once; (verdict, None) or (None, why not measured)."""
    conn = info.get_preconfigured_tls_connection(should_enable_server_name_indication=False)
    client = conn.ssl_client
    counted: list[_Counting] = []

    def counting_handshake(self: Any) -> None:
        counted.append(wrap_client_socket(self, _Counting))
        test.handshake(self)

    client.do_handshake = types.MethodType(counting_handshake, client)  # type: ignore[method-assign]
    try:
        conn.connect()
    except test.vulnerable:
        return True, None
    except test.not_vulnerable:
        if counted and counted[0].received:
            return False, None
        return None, (
            "the server sent nothing back to the handshake (timed out or closed), which sslyze "
            "counts as not vulnerable; no answer is no verdict"
        )
    except Exception as exc:  # sslyze's connection errors: a failure is data, never a pass
        return None, f"the test handshake failed: {type(exc).__name__}: {exc}"
    finally:
        try:
            conn.close()
        except OSError:
            pass
    return None, "the test handshake ended without a verdict"


def with_answered_vulns(scan: TlsScan, result: ServerScanResult) -> TlsScan:
    """Heartbleed and CCS injection measured with an answer required; ROBOT cross-checked."""
    if result.connectivity_result is None:
        return scan
    info = ServerConnectivityInfo(
        server_location=result.server_location,
        network_configuration=result.network_configuration,
        tls_probing_result=result.connectivity_result,
    )
    errors = list(scan.errors)
    found: dict[str, bool | None] = {}
    modern = info.tls_probing_result.highest_tls_version_supported == TlsVersionEnum.TLS_1_3
    for name, test in (("heartbleed", HEARTBLEED), ("ccs_injection", CCS_INJECTION)):
        if modern:  # sslyze's inference, kept: no TLS 1.3 stack has these bugs
            found[name] = False
            continue
        verdict, why = _hijacked(info, test)
        found[name] = verdict
        if why is not None:
            errors.append((name, why))
    robot = scan.robot
    contradiction = _robot_contradiction(scan)
    if contradiction is not None:
        robot = None
        errors.append(("robot", contradiction))
    return dataclasses.replace(
        scan,
        heartbleed=found["heartbleed"],
        ccs_injection=found["ccs_injection"],
        robot=robot,
        errors=tuple(errors),
    )


def _robot_contradiction(scan: TlsScan) -> str | None:
    if scan.robot is not Robot.NOT_VULNERABLE_RSA_NOT_SUPPORTED:
        return None
    # sslyze's ROBOT test runs at the best version up to TLS 1.2
    below13 = [p for p in scan.offered() if p.name != "TLS 1.3"]
    if not below13:
        return None
    top = below13[-1]
    static = [s.name for s in top.suites if s.name.startswith("TLS_RSA_WITH_")]
    if not static:
        return None
    return (
        f"sslyze's ROBOT test found no RSA key exchange, but the cipher scan saw {static[0]} "
        f"accepted on {top.name}: its RSA handshake was refused or reset; run the scan again"
    )
