"""The ssh login kind against Debian's real OpenSSH: the default budget reaches a top-5 weak
password, and declared credentials go only to a host whose key matches the pin."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from checking import at, login_result, outcome
from login_servers import HOST, OpenSsh

from harness.errors import ProbeFailure
from harness.inventory import load
from harness.outcome import Verdict
from harness.policy import logins as policy
from harness.probes.logins.engine import probe_endpoint
from harness.probes.logins.model import Category, Guesses, LoginResult
from harness.session.subjects import subjects

STRONG = "vX9#qLr2!mTz8@kP"
DECLARED = "Corp-Ops-" + "e41b7c-declared"
ENV = "HARNESS_TEST_OPS_PASSWORD"
WRONG_PIN = "SHA256:" + "A" * 43

pytestmark = pytest.mark.skipif(OpenSsh.available() is not None, reason=str(OpenSsh.available()))


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenSsh]:
    # "123456789" is fifth on the shipped weak list
    server = OpenSsh(
        tmp_path_factory.mktemp("sshd"),
        {"operator": "123456789", "keeper": STRONG, "ops": DECLARED},
    )
    yield server
    server.close()


def write_targets(tmp_path: Path, login: str) -> Path:
    path = tmp_path / "targets.yaml"
    path.write_text(
        textwrap.dedent(f"""\
        version: 1
        defaults: {{timeout: 5, login_delay: 0}}
        targets:
          - name: t
            host: {HOST}
            logins:
              - {login}
        """)
    )
    return path


def probe(tmp_path: Path, login: str) -> tuple[LoginResult | ProbeFailure, str]:
    (job,) = subjects(load(write_targets(tmp_path, login)), "logins")
    return probe_endpoint(job, tmp_path)


def guesses(result: LoginResult | ProbeFailure, log: str) -> Guesses:
    assert isinstance(result, LoginResult), f"{result}\n{log}"
    assert isinstance(result.guesses, Guesses), f"{result.guesses}\n{log}"
    return result.guesses


def test_default_budget_finds_a_top_5_weak_password(tmp_path: Path, sshd: OpenSsh) -> None:
    before = sshd.password_attempts()
    result, log = probe(tmp_path, f"{{kind: ssh, port: {sshd.port}, usernames: [operator]}}")
    g = guesses(result, log)
    assert g.hit is not None, log
    assert (g.hit.username, g.hit.password, g.hit.category) == (
        "operator",
        "123456789",
        Category.WEAK,
    )
    verdict = outcome(policy.weak_password, login_result(g))
    assert isinstance(verdict, Verdict) and verdict.findings
    assert sshd.accepted().count("operator") >= 1
    # the server counted no more than the budget: 10, less the 'none' method attempt
    assert sshd.password_attempts() - before <= 9
    assert isinstance(result, LoginResult) and result.budget == 10


def test_strong_password_passes_and_says_what_was_tried(tmp_path: Path, sshd: OpenSsh) -> None:
    result, log = probe(tmp_path, f"{{kind: ssh, port: {sshd.port}, usernames: [keeper]}}")
    g = guesses(result, log)
    assert g.hit is None
    verdict = outcome(policy.weak_password, login_result(g))
    assert isinstance(verdict, Verdict) and verdict.ok, verdict
    assert "(top 5 for keeper)" in verdict.notes[0], verdict.notes
    assert "tried 2 of 9 vendor pairs" in verdict.notes[0], verdict.notes


def test_no_pin_runs_the_public_lists_but_withholds_declared_credentials(
    tmp_path: Path, sshd: OpenSsh, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, DECLARED)
    accepted = sshd.accepted().count("ops")
    login = (
        f"{{kind: ssh, port: {sshd.port}, usernames: [keeper], "
        f"credentials: [{{username: ops, password_env: {ENV}}}]}}"
    )
    result, log = probe(tmp_path, login)
    g = guesses(result, log)
    assert g.hit is None and sshd.accepted().count("ops") == accepted  # never sent
    assert any("not pinned" in n for n in g.notes)
    assert isinstance(result, LoginResult)
    assert result.channel.host_key == sshd.fingerprint("ed25519")  # the key seen is recorded
    assert "not pinned" in policy.cleartext(result, at()).notes[1]


def test_matching_pin_sends_declared_credentials(
    tmp_path: Path, sshd: OpenSsh, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, DECLARED)
    # the RSA key, while sshd would negotiate its ed25519 one: every key the server holds counts
    pin = sshd.fingerprint("rsa")
    login = (
        f"{{kind: ssh, port: {sshd.port}, usernames: [ops], host_key: '{pin}', "
        f"credentials: [{{username: ops, password_env: {ENV}}}]}}"
    )
    result, log = probe(tmp_path, login)
    g = guesses(result, log)
    assert g.hit is not None and g.hit.category is Category.DECLARED, log
    assert isinstance(result, LoginResult) and result.channel.host_key == pin
    assert DECLARED not in log and DECLARED not in repr(result)


def test_wrong_pin_is_broken_and_sends_no_password(tmp_path: Path, sshd: OpenSsh) -> None:
    before = sshd.password_attempts()
    result, log = probe(
        tmp_path, f"{{kind: ssh, port: {sshd.port}, usernames: [operator], host_key: {WRONG_PIN}}}"
    )
    assert isinstance(result, ProbeFailure), log
    assert f"host key changed: expected {WRONG_PIN}, got " in result.reason
    assert sshd.fingerprint("ed25519") in result.reason
    assert sshd.password_attempts() == before  # not one password went out


def test_known_hosts_command_pins_on_first_use(tmp_path: Path, sshd: OpenSsh) -> None:
    login = f"{{kind: ssh, port: {sshd.port}, usernames: [operator]}}"
    cli = [sys.executable, "-m", "harness.cli", "known-hosts", str(write_targets(tmp_path, login))]
    proc = subprocess.run(cli, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert sshd.fingerprint("ed25519") in proc.stdout and sshd.fingerprint("rsa") in proc.stdout
    known = tmp_path / "known_hosts"
    assert f"[{HOST}]:{sshd.port} ssh-ed25519 " in known.read_text()
    again = subprocess.run(cli, capture_output=True, text=True, timeout=120)
    assert again.returncode == 4 and "--force" in again.stderr  # a pin is never replaced silently

    pinned = login.replace("usernames", "known_hosts: known_hosts, usernames")
    result, log = probe(tmp_path, pinned)
    assert isinstance(result, LoginResult) and result.channel.unverified is None, log
    assert guesses(result, log).hit is not None

    # another server's key under this name: the pin no longer matches
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")])
    blob = (tmp_path / "k.pub").read_text().split()[1]
    known.write_text(f"[{HOST}]:{sshd.port} ssh-ed25519 {blob}\n")
    result, log = probe(tmp_path, pinned)
    assert isinstance(result, ProbeFailure) and "host key changed" in result.reason, log
