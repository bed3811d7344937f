"""SSH policy as pure functions: the branches real servers here cannot show (chacha20 without
strict key exchange: Debian's OpenSSH always offers it and paramiko has no chacha20), and the
policy file's own checks."""

from __future__ import annotations

import dataclasses

import pytest
from checking import at

from harness.checks import Severity
from harness.data import load_yaml
from harness.errors import CouldNotMeasure
from harness.policy import ssh as policy
from harness.policy.ssh_rules import parse
from harness.probes.ssh_model import HostKey, SshScan

BASE = SshScan(
    host="127.0.0.1",
    port=22,
    where="t (127.0.0.1:22)",
    version="SSH-2.0-OpenSSH_9.0",
    kex=("curve25519-sha256",),
    host_key_algorithms=("ssh-ed25519",),
    ciphers=("aes128-gcm@openssh.com",),
    macs=("hmac-sha2-256-etm@openssh.com",),
    compression=("none",),
    host_keys=(HostKey("ssh-ed25519", "ssh-ed25519", 256),),
)


def scan(**changes: object) -> SshScan:
    return dataclasses.replace(BASE, **changes)  # type: ignore[arg-type]


def test_chacha20_without_strict_kex_is_terrapin() -> None:
    verdict = policy.terrapin(scan(ciphers=("chacha20-poly1305@openssh.com",)), at())
    (finding,) = verdict.findings
    assert finding.text.startswith("offers chacha20-poly1305@openssh.com without strict key")


def test_strict_kex_closes_terrapin_whatever_else_is_offered() -> None:
    offered = scan(
        kex=("curve25519-sha256", "kex-strict-s-v00@openssh.com"),
        ciphers=("chacha20-poly1305@openssh.com", "aes128-cbc"),
    )
    assert policy.terrapin(offered, at()).ok


def test_no_strict_kex_but_nothing_exposed_passes_and_says_why() -> None:
    verdict = policy.terrapin(scan(ciphers=("aes128-cbc",), macs=("hmac-sha2-256",)), at())
    assert verdict.ok and "does not apply" in verdict.notes[0]


@pytest.mark.parametrize(
    ("kex", "ok"),
    [
        (("mlkem768x25519-sha256", "curve25519-sha256"), True),
        (("sntrup761x25519-sha512@openssh.com",), True),
        (("curve25519-sha256",), False),
    ],
)
def test_post_quantum(kex: tuple[str, ...], ok: bool) -> None:
    assert policy.post_quantum(scan(kex=kex), at()).ok is ok


@pytest.mark.parametrize(
    ("bits", "severity"), [(1024, Severity.HIGH), (2048, Severity.LOW), (3072, None)]
)
def test_rsa_host_key_sizes(bits: int, severity: Severity | None) -> None:
    keys = (HostKey("rsa-sha2-512", "ssh-rsa", bits),)
    verdict = policy.host_keys(scan(host_key_algorithms=("rsa-sha2-512",), host_keys=keys), at())
    assert [f.severity for f in verdict.findings] == ([severity] if severity else [])


def test_encrypt_and_mac_is_flagged_only_where_an_etm_form_exists() -> None:
    macs = ("hmac-sha2-256-etm@openssh.com", "hmac-sha2-256", "umac-128@openssh.com", "x-mac")
    verdict = policy.macs(scan(macs=macs), at())
    assert [f.key for f in verdict.findings] == ["hmac-sha2-256", "umac-128@openssh.com"]
    assert "sshd_config: MACs -hmac-sha2-256,umac-128@openssh.com" in verdict.notes


def test_a_group_exchange_not_asked_leaves_a_clean_kex_unmeasured() -> None:
    offered = scan(kex=("diffie-hellman-group-exchange-sha256",), notes=("no answer",))
    with pytest.raises(CouldNotMeasure, match="hands out small groups"):
        policy.kex(offered, at())
    refused = dataclasses.replace(offered, gex_refused_small=True)
    assert policy.kex(refused, at()).ok


def test_every_rule_cites_a_declared_source() -> None:
    from importlib import resources

    raw = load_yaml(resources.files("harness.data").joinpath("ssh_policy.yaml").read_text())
    parse(raw)  # the shipped file parses
    raw["ciphers"]["rules"][0]["source"] = "a-blog"
    with pytest.raises(ValueError, match="cites unknown 'a-blog'"):
        parse(raw)
