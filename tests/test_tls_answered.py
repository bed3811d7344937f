"""The cross-checks that keep a silent or refused handshake from reading as a verdict (pure)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from checking import decide
from test_tls_policy import SETTINGS, scan, suites

from harness.errors import CouldNotMeasure
from harness.probes.tls.answered import _robot_contradiction, silent_rejections
from harness.probes.tls.model import ProtocolSupport, Robot


def _rejected(name: str, why: str) -> SimpleNamespace:
    return SimpleNamespace(cipher_suite=SimpleNamespace(name=name), error_message=why)


def test_a_suite_rejected_by_a_timeout_is_no_rejection() -> None:
    timed_out = SimpleNamespace(
        rejected_cipher_suites=[
            _rejected("TLS_RSA_WITH_AES_128_CBC_SHA", "TLS alert: handshake failure"),
            _rejected(
                "TLS_RSA_WITH_RC4_128_SHA",
                "Connection to server timed out during the TLS handshake",
            ),
        ]
    )
    reason = silent_rejections("TLS 1.2", timed_out)
    assert reason is not None and "TLS_RSA_WITH_RC4_128_SHA" in reason
    refused = SimpleNamespace(rejected_cipher_suites=timed_out.rejected_cipher_suites[:1])
    assert silent_rejections("TLS 1.2", refused) is None


def test_robot_without_rsa_is_contradicted_by_an_accepted_rsa_suite() -> None:
    rsa = ProtocolSupport("TLS 1.2", True, suites("TLS_RSA_WITH_AES_128_GCM_SHA256"))
    protocols = tuple(p if p.name != "TLS 1.2" else rsa for p in scan().protocols)
    measured = scan(protocols=protocols, robot=Robot.NOT_VULNERABLE_RSA_NOT_SUPPORTED)
    why = _robot_contradiction(measured)
    assert why is not None and "TLS_RSA_WITH_AES_128_GCM_SHA256" in why
    broken = scan(protocols=protocols, robot=None, errors=(("robot", why),))
    with pytest.raises(CouldNotMeasure, match="found no RSA key exchange"):
        decide("tls.vuln.robot", broken, SETTINGS)
    assert _robot_contradiction(scan(robot=Robot.NOT_VULNERABLE_RSA_NOT_SUPPORTED)) is None
