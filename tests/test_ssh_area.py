"""The ssh area against real servers: Debian's OpenSSH hardened (every check passes) and legacy
(every check fails where 9.2 can offer the weakness), paramiko's server without strict key
exchange (Terrapin), and servers that are not SSH, say nothing or send hostile bytes (broken,
never passed). Ends with one run of suites/test_ssh.py through pytest, Allure, the summary and
SARIF."""

from __future__ import annotations

import gc
import json
import shutil
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest
from allure_results import by_target_and_check
from checking import at, decide
from ssh_servers import (
    HARDENED,
    HOST,
    LEGACY,
    ParamikoServer,
    RawServer,
    SilentServer,
    Sshd,
    _Listener,
    sshd_available,
)

from harness.checks import catalogue
from harness.errors import CouldNotMeasure, FailureKind
from harness.outcome import Verdict
from harness.policy import ssh as policy
from harness.probes import ssh_wire as wire
from harness.probes.ssh import measure
from harness.probes.ssh_model import SshScan
from harness.probes.ssh_session import SessionError

SUITES = Path(__file__).resolve().parent.parent / "suites"
NEEDS_SSHD = pytest.mark.skipif(sshd_available() is not None, reason=str(sshd_available()))
CHECKS = [c.id for c in catalogue().values() if c.area == "ssh"]  # read from the registry


@pytest.fixture(scope="module")
def hardened(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    server = Sshd(tmp_path_factory.mktemp("hardened"), {"ed25519": 256, "rsa": 4096}, HARDENED)
    yield server
    server.close()


@pytest.fixture(scope="module")
def legacy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    keys = {"dsa": 1024, "rsa": 1024, "ed25519": 256}
    server = Sshd(tmp_path_factory.mktemp("legacy"), keys, LEGACY)
    yield server
    server.close()


def _scan(port: int, timeout: float = 5) -> SshScan:
    return measure(HOST, port, f"{HOST}:{port}", timeout, 5)


def _texts(verdict: Verdict) -> str:
    return " | ".join(f.text for f in verdict.findings)


@NEEDS_SSHD
def test_hardened_openssh_passes_every_check(hardened: Sshd) -> None:
    scan = _scan(hardened.port)
    assert scan.version.startswith("SSH-2.0-OpenSSH_9")
    assert {(k.key_type, k.bits) for k in scan.host_keys} == {
        ("ssh-ed25519", 256),
        ("ssh-rsa", 4096),
    }
    assert scan.strict_kex and scan.gex_refused_small is True
    for check in CHECKS:
        verdict = decide(check, scan)
        assert verdict.ok, f"{check}: {_texts(verdict)}"
    assert scan.seconds < 5  # sanity only; the speed goal is measured in bench/bench_ssh.py


@NEEDS_SSHD
def test_legacy_openssh_fails_every_check_9_2_can_fail(legacy: Sshd) -> None:
    scan = _scan(legacy.port)
    flagged = {c: {f.key for f in decide(c, scan).findings} for c in CHECKS}
    assert {"diffie-hellman-group1-sha1", "diffie-hellman-group14-sha1"} <= flagged["ssh.kex"]
    assert "diffie-hellman-group-exchange-sha1" in flagged["ssh.kex"]
    assert {"ssh-dss", "ssh-rsa", "ssh-rsa 1024 bits"} <= flagged["ssh.host_keys"]
    assert {"3des-cbc", "aes128-cbc", "aes256-cbc"} <= flagged["ssh.ciphers"]
    assert {"hmac-md5", "hmac-md5-96", "hmac-sha1-96", "umac-64@openssh.com"} <= flagged["ssh.macs"]
    assert "hmac-sha2-256" in flagged["ssh.macs"]  # encrypt-and-MAC where EtM exists
    assert flagged["ssh.post_quantum"] == {"no hybrid post-quantum key exchange"}
    # Debian's 9.2 always offers strict key exchange, and refuses groups under 2048 bits
    assert flagged["ssh.terrapin"] == set() and scan.gex_refused_small is True
    kex = policy.kex(scan, at())
    assert any(
        n.startswith("sshd_config: KexAlgorithms -diffie-hellman-group14-sha1") for n in kex.notes
    )
    assert any(n.startswith("Who is affected:") for n in kex.notes)


@NEEDS_SSHD
def test_host_keys_are_read_from_a_server_with_classic_diffie_hellman_only(tmp_path: Path) -> None:
    config = "KexAlgorithms diffie-hellman-group14-sha1,diffie-hellman-group1-sha1\n"
    server = Sshd(tmp_path, {"ed25519": 256, "rsa": 2048}, config)
    try:
        scan = _scan(server.port)
    finally:
        server.close()
    assert scan.unread == ()
    assert {(k.key_type, k.bits) for k in scan.host_keys} == {
        ("ssh-ed25519", 256),
        ("ssh-rsa", 2048),
    }
    assert [f.key for f in policy.host_keys(scan, at()).findings] == ["ssh-rsa 2048 bits"]


def test_terrapin_fails_without_strict_kex_and_passes_with_it() -> None:
    ciphers, macs = ("aes128-ctr", "aes128-cbc"), ("hmac-sha2-256-etm@openssh.com", "hmac-sha2-256")
    loose = ParamikoServer(ciphers, macs, strict_kex=False)
    strict = ParamikoServer(ciphers, macs, strict_kex=True)
    try:
        open_scan, closed_scan = _scan(loose.port), _scan(strict.port)
    finally:
        loose.close()
        strict.close()
    assert not open_scan.strict_kex and closed_scan.strict_kex
    (finding,) = policy.terrapin(open_scan, at()).findings
    assert "aes128-cbc with hmac-sha2-256-etm@openssh.com" in finding.text
    assert "CVE-2023-48795" in finding.text and "kex-strict-s-v00@openssh.com" in finding.text
    assert policy.terrapin(closed_scan, at()).ok
    # paramiko's own host key is read with a key exchange, from an implementation not OpenSSH
    assert [(k.key_type, k.bits) for k in open_scan.host_keys] == [("ssh-ed25519", 256)]


# RFC 2409 6.2's 1024-bit MODP group (Oakley group 2), the group of diffie-hellman-group1-sha1
OAKLEY_2 = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E"
    "3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF"
    "5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF",
    16,
)


def test_a_group_exchange_that_hands_out_1024_bit_groups_fails_kex(tmp_path: Path) -> None:
    """OpenSSH 9.2 refuses groups under 2048 bits whatever its moduli file says; paramiko's
    server hands out what its moduli file holds."""
    moduli = tmp_path / "moduli"
    moduli.write_text(f"20240101000000 2 6 100 1023 2 {OAKLEY_2:X}\n")
    server = ParamikoServer(("aes128-ctr",), ("hmac-sha2-256-etm@openssh.com",), moduli=moduli)
    try:
        scan = _scan(server.port)
    finally:
        server.close()
    assert scan.gex_small_group_bits == 1024 and scan.gex_refused_small is False
    findings = {f.key: f for f in policy.kex(scan, at()).findings}
    finding = findings["diffie-hellman-group-exchange-sha256: 1024-bit group"]
    assert finding.text.startswith("diffie-hellman-group-exchange-sha256 hands out a 1024-bit")
    assert "/etc/ssh/moduli" in finding.text


# a well-framed KEXINIT whose key exchange list holds a name with a space
BAD_KEXINIT = wire.packet(wire.kexinit(bytes(16), {"kex": ("bad name",), "host_key": ("x",)}))


class DripServer(_Listener):
    """A version line one byte at a time, each byte within the read timeout: only the
    connection's deadline stops it."""

    def serve(self, conn: socket.socket) -> None:
        for byte in b"SSH-2.0-" + b"x" * 200:
            if self._stop.is_set():
                return
            conn.sendall(bytes([byte]))
            time.sleep(0.1)


@pytest.mark.parametrize(
    ("make", "kind", "words"),
    [
        (SilentServer, FailureKind.TIMEOUT, "no SSH version line within"),
        (
            lambda: RawServer(b"HTTP/1.1 400 Bad Request\r\n\r\n"),
            FailureKind.PROTOCOL,
            "not an SSH server",
        ),
        (lambda: RawServer(b"A" * 5000), FailureKind.PROTOCOL, "longer than 255"),
        (lambda: RawServer(b"SSH-1.5-old\r\n"), FailureKind.PROTOCOL, "protocol 1.5 only"),
        (
            lambda: RawServer(b"SSH-2.0-x\r\n\xff\xff\xff\xf0"),
            FailureKind.PROTOCOL,
            "malformed SSH packet",
        ),
        (lambda: RawServer(b"SSH-2.0-x\r\n"), FailureKind.PROTOCOL, "connection before SSH packet"),
        (DripServer, FailureKind.TIMEOUT, "deadline passed"),
        (
            lambda: RawServer(b"SSH-2.0-x\r\n" + BAD_KEXINIT),
            FailureKind.PROTOCOL,
            "malformed KEXINIT",
        ),
    ],
    ids=[
        "silent",
        "http",
        "endless-line",
        "ssh1",
        "huge-packet",
        "no-kexinit",
        "drip",
        "bad-names",
    ],
)
def test_a_server_that_is_not_ssh_is_never_measured(
    make: Callable[[], _Listener], kind: FailureKind, words: str
) -> None:
    server = make()
    started = time.monotonic()
    try:
        with pytest.raises(SessionError) as caught:
            _scan(server.port, timeout=0.5)
    finally:
        server.close()
    assert caught.value.kind == kind and words in caught.value.reason, caught.value.reason
    assert time.monotonic() - started < 5  # the deadline (3 x 0.5 s) bounds every case


def test_a_server_that_stalls_after_its_kexinit_costs_two_timeouts_not_one_per_key() -> None:
    lists = {
        "kex": ("curve25519-sha256", "diffie-hellman-group-exchange-sha256"),
        "host_key": ("ssh-ed25519", "rsa-sha2-512", "ecdsa-sha2-nistp256"),
        "ciphers_c2s": ("aes128-ctr",),
        "ciphers_s2c": ("aes128-ctr",),
        "macs_c2s": ("hmac-sha2-256-etm@openssh.com",),
        "macs_s2c": ("hmac-sha2-256-etm@openssh.com",),
        "compression_c2s": ("none",),
        "compression_s2c": ("none",),
    }
    kexinit = wire.packet(wire.kexinit(bytes(16), lists))
    server = RawServer(b"SSH-2.0-stall\r\n" + kexinit, hold=True)
    started = time.monotonic()
    try:
        scan = _scan(server.port, timeout=0.5)
    finally:
        server.close()
    assert time.monotonic() - started < 2.5  # one stalled key exchange (0.5 s), not four
    assert scan.host_keys == () and len(scan.unread) == 3
    assert (
        "not tried, the server left the key exchange for ssh-ed25519 unanswered" in scan.unread[1]
    )
    with pytest.raises(CouldNotMeasure, match="sizes are unknown"):
        policy.host_keys(scan, at())
    with pytest.raises(CouldNotMeasure, match="hands out small groups"):
        policy.kex(scan, at())


def test_a_refused_port_says_refused() -> None:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port = s.getsockname()[1]
    with pytest.raises(SessionError) as caught:
        _scan(port)
    assert caught.value.kind == FailureKind.REFUSED


def test_unread_host_keys_make_a_clean_host_key_check_unmeasured() -> None:
    scan = SshScan(
        HOST, 22, "t", "SSH-2.0-x", ("curve25519-sha256",), ("rsa-sha2-512",), (), (), ("none",),
        unread=("rsa-sha2-512: no answer",),
    )  # fmt: skip
    with pytest.raises(CouldNotMeasure, match="sizes are unknown"):
        policy.host_keys(scan, at())


# ------------------------------------------------------------------- through pytest, end to end


@NEEDS_SSHD
def test_the_ssh_suite_runs_in_every_output(hardened: Sshd, legacy: Sshd, tmp_path: Path) -> None:
    silent = SilentServer()
    (tmp_path / "targets.yaml").write_text(
        "version: 1\ndefaults: {timeout: 1}\ntargets:\n"
        f"  - {{name: hardened, host: {HOST}, ssh: [{{port: {hardened.port}}}]}}\n"
        f"  - {{name: legacy, host: {HOST}, logins: [{{kind: ssh, port: {legacy.port}}}]}}\n"
        f"  - {{name: silent, host: {HOST}, ssh: [{{port: {silent.port}}}]}}\n"
    )
    shutil.copy(SUITES / "test_ssh.py", tmp_path / "test_ssh.py")
    try:
        proc = subprocess.run(
            [
                *(
                    sys.executable,
                    "-m",
                    "pytest",
                    "test_ssh.py",
                    "-m",
                    "ssh",
                    "-p",
                    "no:cacheprovider",
                ),
                *("--targets", "targets.yaml", "--alluredir", "allure", "-q"),
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        silent.close()
    run: dict[tuple[str, str], Any] = by_target_and_check(tmp_path / "allure")
    status = {(t, c): r["status"] for (t, c), r in run.items()}
    for check in CHECKS:
        assert status[("hardened", check)] == "passed", proc.stdout[-3000:]
        assert status[("silent", check)] == "broken"
        want = "passed" if check == "ssh.terrapin" else "failed"
        assert status[("legacy", check)] == want, (check, proc.stdout[-3000:])
    assert "ssh" in proc.stdout.split("harness summary")[1].splitlines()[1]
    sarif = tmp_path / "out.sarif"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "sarif",
            "--results",
            "allure",
            "--output",
            str(sarif),
        ],
        cwd=tmp_path,
        check=False,
        capture_output=True,
        timeout=60,
    )
    rules = {r["id"] for r in json.loads(sarif.read_text())["runs"][0]["tool"]["driver"]["rules"]}
    assert {"ssh.kex", "ssh.host_keys", "ssh.ciphers", "ssh.macs"} <= rules


def test_the_demo_labs_legacy_ssh_fails_the_transport_checks_and_still_takes_logins() -> None:
    import logging

    from harness.lab.login_services import LAB_SSH_ACCOUNTS, SshServer

    logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    server = SshServer(HOST, 0, dict(LAB_SSH_ACCOUNTS), legacy_transport=True)
    try:
        scan = _scan(server.port)
        client = paramiko.Transport((HOST, server.port))
        try:
            client.connect(username="deploy", password=LAB_SSH_ACCOUNTS["deploy"])
            assert client.is_authenticated()
        finally:
            client.close()
    finally:
        server.close()
    failed = {c for c in CHECKS if not decide(c, scan).ok}
    assert failed == set(CHECKS), failed
    # paramiko offers no SHA-1 or 1024-bit key exchange: its kex finding is the low one
    assert [f.key for f in policy.kex(scan, at()).findings] == ["diffie-hellman-group14-sha256"]


def test_every_connection_is_closed_on_every_path() -> None:
    """Good answers, garbage, silence and refusal: every socket of the probe is closed by the
    probe (an unclosed socket is only freed later, with a ResourceWarning)."""
    servers: list[_Listener] = [
        RawServer(b"SSH-2.0-x\r\n" + BAD_KEXINIT),
        RawServer(b"HTTP/1.1 400 Bad Request\r\n\r\n"),
        SilentServer(),
        ParamikoServer(("aes128-ctr",), ("hmac-sha2-256-etm@openssh.com",)),
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for server in servers:
            try:
                _scan(server.port, timeout=0.5)
            except SessionError:
                pass
        gc.collect()
    for server in servers:
        server.close()
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaks == [], leaks
