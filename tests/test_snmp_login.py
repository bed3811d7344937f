"""The snmp login kind against Debian's real snmpd and the lab's Python agent, over loopback.

snmpd runs with `public` read-only and a secret read-write community. The secret is declared
through the environment and must never appear in any output, in any encoding.
"""

from __future__ import annotations

import base64
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from checking import login_result, outcome
from udp_servers import snmpd_on

from harness.errors import FailureKind, ProbeFailure
from harness.inventory import loads
from harness.lab.udp_services import SilentPort, SnmpAgent, SnmpConfig
from harness.outcome import Verdict
from harness.policy import logins as policy
from harness.probes import Job
from harness.probes.logins.engine import probe_endpoint
from harness.probes.logins.model import Category, LoginResult
from harness.probes.logins.snmp_ber import SYS_DESCR, BerError, decode, get, parse_one, v3_discovery

HOST = "127.0.0.1"
SECRET = "rw-" + os.urandom(8).hex()


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    port = _free_udp_port()
    with snmpd_on(HOST, port, tmp_path_factory.mktemp("snmpd"), SECRET, public=True):
        yield port


@pytest.fixture(scope="module")
def hardened(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    port = _free_udp_port()
    with snmpd_on(HOST, port, tmp_path_factory.mktemp("snmpd-h"), SECRET, public=False):
        yield port


def _probe(port: int, extra: str = "") -> tuple[LoginResult | ProbeFailure, str]:
    inv = loads(
        "version: 1\ndefaults: {timeout: 1, login_delay: 0}\n"
        f"targets:\n  - name: agent\n    host: {HOST}\n    logins:\n"
        f"      - {{kind: snmp, port: {port}{extra}}}\n"
    )
    target = inv.targets[0]
    ep = target.logins[0]
    return probe_endpoint(Job("agent", target, ep, inv.settings(target, ep)), None)


def test_public_answers_and_is_read_only(agent: int) -> None:
    result, log = _probe(agent, ", snmp_write_check: true")
    assert isinstance(result, LoginResult) and not isinstance(result.guesses, ProbeFailure)
    hit = result.guesses.hit
    assert hit is not None and (hit.password, hit.category) == ("public", Category.DEFAULT)
    assert "harness test agent" in hit.detail and "read-only" in hit.detail
    verdict = outcome(policy.default_credentials, login_result(result.guesses))
    assert (
        len(verdict.findings) == 1 and "community / public was accepted" in verdict.findings[0].text
    )
    assert result.guesses.control == "no answer within 1 s"  # the random community got silence
    assert log.count("(random control password)") == 1 and "community / public: ACCEPTED" in log


def test_write_is_not_probed_without_the_opt_in(agent: int) -> None:
    result, _ = _probe(agent)
    assert isinstance(result, LoginResult) and not isinstance(result.guesses, ProbeFailure)
    assert result.guesses.hit is not None
    assert (
        "write access not checked (opt in with snmp_write_check: true)" in result.guesses.hit.detail
    )


def test_declared_secret_community_is_read_write_and_never_shown(
    agent: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARNESS_TEST_SNMP_RW", SECRET)
    extra = (
        ", snmp_write_check: true, credentials: [{username: community, "
        "password_env: HARNESS_TEST_SNMP_RW}]"
    )
    result, log = _probe(agent, extra)
    assert isinstance(result, LoginResult) and not isinstance(result.guesses, ProbeFailure)
    hit = result.guesses.hit
    assert hit is not None and hit.category is Category.DECLARED
    assert "READ-WRITE" in hit.detail
    verdict = outcome(policy.weak_password, login_result(result.guesses))
    assert isinstance(verdict, Verdict) and "READ-WRITE" in verdict.findings[0].text
    shown = repr(result) + log + repr(verdict)
    for encoded in (SECRET, SECRET.encode().hex(), base64.b64encode(SECRET.encode()).decode()):
        assert encoded not in shown


def test_agent_without_default_communities_passes(hardened: int) -> None:
    result, log = _probe(hardened)
    assert isinstance(result, LoginResult) and not isinstance(result.guesses, ProbeFailure)
    assert result.guesses.hit is None and result.guesses.tried.get("default", 0) >= 1
    assert result.attempts <= result.budget
    verdict = outcome(policy.default_credentials, login_result(result.guesses))
    assert isinstance(verdict, Verdict) and verdict.ok, verdict
    assert "community / public: rejected (no answer within 1 s)" in log


def test_agent_answering_any_community_is_ambiguous() -> None:
    fake = SnmpAgent(HOST, 0, SnmpConfig(answer_any=True))
    try:
        result, _ = _probe(fake.port)
    finally:
        fake.close()
    assert isinstance(result, LoginResult) and isinstance(result.guesses, ProbeFailure)
    assert result.guesses.kind is FailureKind.AMBIGUOUS


def test_silent_port_is_not_a_pass() -> None:
    silent = SilentPort(HOST)
    try:
        result, _ = _probe(silent.port)
    finally:
        silent.close()
    assert isinstance(result, ProbeFailure) and result.kind is FailureKind.TIMEOUT
    assert "no SNMP agent answered" in result.reason


def test_closed_port_is_refused() -> None:
    result, _ = _probe(_free_udp_port())
    assert isinstance(result, ProbeFailure) and result.kind is FailureKind.REFUSED


def test_lab_agent_answers_like_snmpd() -> None:
    lab = SnmpAgent(HOST, 0, SnmpConfig(read_write=("lab-rw",)))
    try:
        result, _ = _probe(lab.port, ", snmp_write_check: true")
    finally:
        lab.close()
    assert isinstance(result, LoginResult) and not isinstance(result.guesses, ProbeFailure)
    assert result.guesses.hit is not None and result.guesses.hit.password == "public"
    assert "read-only" in result.guesses.hit.detail and lab.sets == 0


def test_ber_round_trip_and_hostile_bytes() -> None:
    packet = get(b"public", 1234)
    message, end = parse_one(packet)
    assert end == len(packet) and message.children()[1].body == b"public"
    assert decode(v3_discovery(77)).version == 3 and decode(v3_discovery(77)).request_id == 77
    for bad in (b"", b"\x30", b"\x30\x84\xff\xff\xff\xff", packet[:-3], b"\x30\x03\x02\x01\x05"):
        with pytest.raises(BerError):
            decode(bad)
    assert SYS_DESCR == "1.3.6.1.2.1.1.1.0"


def test_inventory_rejects_misplaced_snmp_keys(tmp_path: Path) -> None:
    from harness.errors import InventoryError

    with pytest.raises(InventoryError) as err:
        loads(
            "version: 1\ntargets:\n  - name: a\n    host: 127.0.0.1\n    logins:\n"
            "      - {kind: ssh, snmp_write_check: true}\n"
            "      - {kind: snmp, url: 'http://127.0.0.1/'}\n"
        )
    text = str(err.value)
    assert "snmp_write_check applies to kind snmp only" in text and "not 'url'" in text
