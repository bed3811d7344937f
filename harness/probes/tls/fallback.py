"""TLS_FALLBACK_SCSV, measured by seeing the server's answer rather than assumed from silence.

sslyze's fallback_scsv command counts a downgraded handshake that timed out, or was rejected
in any way, as "supports fallback SCSV" (sslyze issue 119): a busy single-threaded server, or one
that resets a version it does not speak, then passes. Here a pass needs one of two answers:

- the `inappropriate_fallback` alert to a downgraded ClientHello carrying TLS_FALLBACK_SCSV
  (RFC 7507), or another alert while the same handshake without the SCSV completes (the server
  refuses downgrades, with a different alert: noted);
- the downgraded version refused outright with an alert, with and without the SCSV (nothing to
  fall back to: noted).

A downgraded handshake that completes is the finding. No answer (timeout, reset, close) to the
SCSV handshake while a plain one at that version completes is retried once, then broken; no answer
to the plain one is broken too. The handshakes go through sslyze's connection helper with nassl's
legacy client (the one that can send the SCSV), so STARTTLS and the network settings apply.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from enum import Enum

from nassl.legacy_ssl_client import LegacySslClient
from nassl.ssl_client import ClientCertificateRequested
from sslyze.errors import (
    ConnectionToServerFailed,
    ConnectionToServerTimedOut,
    ServerRejectedConnection,
    ServerRejectedTlsHandshake,
    TlsHandshakeTimedOut,
)
from sslyze.scanner.models import ServerScanResult
from sslyze.server_connectivity import ServerConnectivityInfo, TlsVersionEnum

from harness.probes.tls.model import TlsScan
from harness.probes.tls.sslyze_adapter import OpenSSLError

VERSIONS = {
    "SSLv3": TlsVersionEnum.SSL_3_0,
    "TLS 1.0": TlsVersionEnum.TLS_1_0,
    "TLS 1.1": TlsVersionEnum.TLS_1_1,
    "TLS 1.2": TlsVersionEnum.TLS_1_2,
}
NAMES = {v: k for k, v in VERSIONS.items()}


class Answer(Enum):
    COMPLETED = "completed"  # the server accepted the ClientHello
    FALLBACK_ALERT = "inappropriate_fallback alert"
    REFUSED = "refused with an alert"
    SILENT = "no answer"  # timeout, reset or close without an alert


# the shape of `handshake` below, so tests can drive `measure` with recorded answers
Handshake = Callable[[TlsVersionEnum, bool], tuple[Answer, str]]


@dataclasses.dataclass(frozen=True)
class Fallback:
    supported: bool | None  # None: could not measure (see error)
    note: str | None = None
    error: str | None = None


def with_fallback_scsv(scan: TlsScan, result: ServerScanResult) -> TlsScan:
    """The scan with fallback_scsv measured here; a failure becomes an error, never a pass.

    With one protocol version or none there is nothing to fall back to, and no check judges it.
    """
    if result.connectivity_result is None or len(scan.offered()) < 2:
        return scan
    info = ServerConnectivityInfo(
        server_location=result.server_location,
        network_configuration=result.network_configuration,
        tls_probing_result=result.connectivity_result,
    )
    measured = measure(lambda version, scsv: handshake(info, version, scsv), scan.offered_names())
    errors = scan.errors
    if measured.error is not None:
        errors = (*errors, ("fallback_scsv", measured.error))
    return dataclasses.replace(
        scan, fallback_scsv=measured.supported, fallback_note=measured.note, errors=errors
    )


def downgrade_version(offered: list[str]) -> TlsVersionEnum | None:
    """The version a client falling back from the server's best lands on.

    TLS 1.3 is left out as sslyze does: TLS 1.3 clients detect a downgrade to 1.2 themselves
    (RFC 8446 4.1.3), and nassl's legacy client stops at TLS 1.2. Below the best version, the
    highest offered one; if none is offered, the next one down, to see it refused.
    """
    ranked = [VERSIONS[p] for p in offered if p in VERSIONS]
    best = TlsVersionEnum.TLS_1_2 if "TLS 1.3" in offered else max(ranked, key=_rank, default=None)
    if best is None:
        return None
    below = [v for v in ranked if _rank(v) < _rank(best)]
    if below:
        return max(below, key=_rank)
    if best == TlsVersionEnum.SSL_3_0:
        return None  # SSL 2.0 has no cipher suite list to carry the SCSV
    return TlsVersionEnum(best.value - 1)


def _rank(version: TlsVersionEnum) -> int:
    return int(version.value)


def measure(shake: Handshake, offered: list[str]) -> Fallback:
    version = downgrade_version(offered)
    if version is None:
        return Fallback(None, error="no protocol below the best one can carry TLS_FALLBACK_SCSV")
    name = NAMES[version]
    first, detail = shake(version, True)
    if first is Answer.FALLBACK_ALERT:
        return Fallback(True, f"a {name} handshake with TLS_FALLBACK_SCSV got {detail}")
    if first is Answer.COMPLETED:
        return Fallback(False, f"a {name} handshake with TLS_FALLBACK_SCSV completed")
    plain, plain_detail = shake(version, False)
    if plain is Answer.REFUSED or plain is Answer.FALLBACK_ALERT:
        if name in offered:
            return Fallback(
                None,
                error=f"the scan saw {name} accepted, but a plain {name} handshake was now refused "
                f"({plain_detail}); inconsistent answers, run the scan again",
            )
        modern = (
            "; TLS 1.3 clients detect a downgrade to TLS 1.2 themselves (RFC 8446 4.1.3)"
            if "TLS 1.3" in offered
            else ""
        )
        return Fallback(
            True,
            f"{name} is refused outright ({plain_detail}), so a client cannot fall back to it; "
            f"no inappropriate_fallback alert was needed{modern}",
        )
    if plain is Answer.SILENT:
        return Fallback(
            None,
            error=f"no answer to {name} handshakes with or without TLS_FALLBACK_SCSV "
            f"({detail}; {plain_detail}); no answer is no verdict",
        )
    # a plain handshake at this version completes
    if first is Answer.REFUSED:
        return Fallback(
            True,
            f"the server rejects a {name} handshake with TLS_FALLBACK_SCSV ({detail}) and "
            f"completes it without; it refuses the downgrade, with another alert than "
            f"inappropriate_fallback",
        )
    again, again_detail = shake(version, True)  # the first one got no answer: once more
    if again is Answer.FALLBACK_ALERT:
        return Fallback(True, f"a {name} handshake with TLS_FALLBACK_SCSV got {again_detail}")
    if again is Answer.COMPLETED:
        return Fallback(False, f"a {name} handshake with TLS_FALLBACK_SCSV completed")
    if again is Answer.REFUSED:
        return Fallback(
            True,
            f"the server rejects a {name} handshake with TLS_FALLBACK_SCSV ({again_detail}) "
            f"and completes it without",
        )
    return Fallback(
        None,
        error=f"the server completes a plain {name} handshake but gave no answer, twice, to one "
        f"carrying TLS_FALLBACK_SCSV ({detail}; {again_detail}): no inappropriate_fallback alert "
        f"was seen, so downgrade protection is not shown",
    )


def handshake(
    info: ServerConnectivityInfo, version: TlsVersionEnum, scsv: bool
) -> tuple[Answer, str]:
    """One handshake at `version`, with or without the SCSV, classified by the server's answer."""
    conn = info.get_preconfigured_tls_connection(
        override_tls_version=version, should_use_legacy_openssl=True
    )
    client = conn.ssl_client
    assert isinstance(client, LegacySslClient)
    if scsv:
        client.enable_fallback_scsv()
    try:
        conn.connect()
        return Answer.COMPLETED, "the handshake completed"
    except ClientCertificateRequested:
        return Answer.COMPLETED, "the server accepted the ClientHello and asked for a certificate"
    except OpenSSLError as exc:
        text = str(exc.args[0] if exc.args else exc)
        if "inappropriate fallback" in text:
            return Answer.FALLBACK_ALERT, "the inappropriate_fallback alert"
        if "alert" in text:
            return Answer.REFUSED, text
        return Answer.SILENT, f"OpenSSL error without an alert: {text}"
    except ServerRejectedTlsHandshake as exc:
        # sslyze names alerts and TLS errors "TLS alert: ..." / "TLS error: ..."; a reset or a
        # close is no answer
        said = exc.error_message.strip()
        kind = Answer.REFUSED if said.startswith(("TLS alert", "TLS error")) else Answer.SILENT
        return kind, said
    except (TlsHandshakeTimedOut, ConnectionToServerTimedOut) as exc:
        return Answer.SILENT, f"timed out: {exc.error_message}"
    except (ServerRejectedConnection, ConnectionToServerFailed) as exc:
        return Answer.SILENT, f"connection failed: {exc.error_message}"
    except OSError as exc:
        return Answer.SILENT, f"connection error: {exc}"
    finally:
        conn.close()
