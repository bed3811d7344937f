"""Validation that teaches (issue 24): the right message and a Fix for every defect, "did you
mean" for misspelt keys and values, an expired waiver and an unset password_env reported as
warnings (exit 0), `--targets PATH` accepted, and a quoted port read as the number everywhere.
Run through the real console script, as a user types it."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.checks import get_check
from harness.inventory import loads
from harness.outcome import Finding, Verdict
from harness.probes import Job
from harness.session.summary import RunSummary
from harness.session.verdicts import decide

HARNESS = Path(sys.executable).with_name("harness")
UNSET = "HARNESS_TEST_SURELY_UNSET_PASSWORD"

GOOD = """\
version: 1
targets:
  - name: web-01
    host: 127.0.0.1
    ports:
      expected: [22]
      scan: top-1000
    tls:
      - port: 443
    logins:
      - kind: http-basic
        url: https://127.0.0.1/admin
      - kind: ftp
        port: 2121
waivers:
  - check: banner.disclosure
    target: web-01
    reason: vendor appliance
    expires: 2999-03-31
"""


def _run(
    text: str, tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "targets.yaml"
    path.write_text(text)
    argv = [str(HARNESS), "validate", *(args or (str(path),))]
    environ = {k: v for k, v in os.environ.items() if k != UNSET} | (env or {})
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=60, env=environ, cwd=tmp_path, check=False
    )


def _refused(text: str, tmp_path: Path) -> list[str]:
    """The defect lines of a refused file: exit 4, no traceback, each line with a Fix."""
    done = _run(text, tmp_path)
    assert done.returncode == 4, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = [ln for ln in done.stderr.splitlines() if "line " in ln]
    assert lines and all("Fix: " in ln for ln in lines), done.stderr
    return lines


def test_the_good_file_validates_without_warnings(tmp_path: Path) -> None:
    done = _run(GOOD, tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("OK "), done.stderr
    assert done.stderr == "" and "expired" not in done.stdout


def test_a_url_as_host_is_called_a_url_with_the_fix(tmp_path: Path) -> None:
    [line] = _refused(GOOD.replace("host: 127.0.0.1", "host: https://127.0.0.12"), tmp_path)
    assert "CIDR" not in line
    assert "line 4: target 'web-01', key 'host': a host is a name or an address" in line
    assert "not a URL" in line and "Fix: write host: 127.0.0.12 and put the URL under" in line


def test_validate_takes_targets_option_as_its_hint_says(tmp_path: Path) -> None:
    done = _run(GOOD, tmp_path, "--targets", str(tmp_path / "targets.yaml"))
    assert done.returncode == 0 and done.stdout.startswith("OK "), done.stderr
    done = _run(GOOD, tmp_path, "--targets", str(tmp_path / "missing.yaml"))
    assert done.returncode == 4 and "missing.yaml: invalid targets file" in done.stderr


def test_an_expired_waiver_is_a_warning_with_line_and_fix(tmp_path: Path) -> None:
    done = _run(GOOD.replace("expires: 2999-03-31", "expires: 2020-03-31"), tmp_path)
    assert done.returncode == 0, done.stderr
    assert "; expired waivers: 1" in done.stdout.splitlines()[0]
    [warning] = done.stderr.splitlines()
    assert warning.startswith(f"warning: {tmp_path / 'targets.yaml'}: line 19: ")
    assert "banner.disclosure on target 'web-01' expired on 2020-03-31" in warning
    assert "Fix: " in warning


def test_an_unset_password_env_is_a_warning_naming_the_variable(tmp_path: Path) -> None:
    text = GOOD.replace(
        "        port: 2121\n",
        f"        port: 2121\n        credentials:\n          - username: bob\n"
        f"            password_env: {UNSET}\n",
    )
    done = _run(text, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "; unset password_env: 1" in done.stdout
    [warning] = done.stderr.splitlines()
    assert "line 17: target 'web-01', key 'logins[1].credentials[0].password_env'" in warning
    assert f"{UNSET} is not set" in warning and f"Fix: set {UNSET}" in warning
    done = _run(text, tmp_path, env={UNSET: "s3cret-value"})
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert "s3cret-value" not in done.stdout


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (("port: 2121", 'port: "2121"'), "logins"),
        (("- port: 443", '- port: "443"'), "tls"),
        (("expected: [22]", 'expected: ["22"]'), "ports"),
    ],
)
def test_a_quoted_port_means_the_number_everywhere(edit: tuple[str, str], key: str) -> None:
    inv = loads(GOOD.replace(*edit))
    target = inv.targets[0]
    ports = {
        "logins": target.logins[1].port,
        "tls": target.tls[0].port,
        "ports": target.ports.expected[0] if target.ports else None,
    }
    assert ports[key] == int(edit[1].split('"')[1])


def test_a_port_that_is_no_number_is_refused_with_a_fix(tmp_path: Path) -> None:
    [line] = _refused(GOOD.replace("port: 2121", 'port: "ftp"'), tmp_path)
    assert "key 'logins[1].port'" in line and "(got 'ftp')" in line


@pytest.mark.parametrize(
    ("edit", "suggestion"),
    [
        (("    tls:\n", "    tls_profil: modern\n    tls:\n"), "did you mean 'tls_profile'?"),
        (("kind: http-basic", "kind: http-bassic"), "did you mean 'http-basic'?"),
        (("scan: top-1000", "scan: top1000"), "did you mean 'top-1000'?"),
        (("- port: 443", "- port: 443\n        tls_profile: moden"), "did you mean 'modern'?"),
        (("check: banner.disclosure", "check: banner.disclosur"), "'banner.disclosure'?"),
        (("    target: web-01", "    target: web-1"), "did you mean 'web-01'?"),
    ],
)
def test_a_misspelling_gets_did_you_mean(
    tmp_path: Path, edit: tuple[str, str], suggestion: str
) -> None:
    [line] = _refused(GOOD.replace(*edit), tmp_path)
    assert suggestion in line


@pytest.mark.parametrize(
    "edit",
    [
        ("waivers:\n", "  - name: _bad\n    host: 127.0.0.2\nwaivers:\n"),
        ("scan: top-1000", "scan: top-0"),
        ("scan: top-1000", "scan: 90-80"),
        ("scan: top-1000", "scan: top-1000\n      udp: bogus"),
        ("expected: [22]", "expected: [ssh]"),
        ("expected: [22]", "expected: [true]"),
        ("port: 2121", "port: 2121\n        host_key: MD5:abc"),
        ("port: 2121", "port: 2121\n        known_hosts: kh"),
        ("port: 2121", "port: 2121\n        credentials: [{username: u}]"),
        (
            "url: https://127.0.0.1/admin",
            "url: https://127.0.0.1/admin\n        password_policy:\n"
            "          url: https://127.0.0.1/signup\n"
            "          delete_url: https://127.0.0.1/users",
        ),
    ],
)
def test_every_value_error_has_a_fix(tmp_path: Path, edit: tuple[str, str]) -> None:
    assert edit[0] in GOOD
    _refused(GOOD.replace(*edit, 1), tmp_path)


@pytest.mark.parametrize(
    "edit",
    [("expires: 2999-03-31", "expires: 2027-02-30"), ("expires: 2999-03-31", "expires: soon")],
)
def test_a_date_error_has_a_fix(tmp_path: Path, edit: tuple[str, str]) -> None:
    [line] = _refused(GOOD.replace(*edit), tmp_path)
    assert "key 'waivers[0].expires'" in line and "Fix: write a real date as YYYY-MM-DD" in line


def test_the_run_leads_with_the_expired_waiver_and_counts_it() -> None:
    inv = loads(GOOD.replace("expires: 2999-03-31", "expires: 2020-03-31"))
    check = get_check("banner.disclosure")
    job = Job("web-01", inv.targets[0], None, inv.settings(inv.targets[0]))
    long_finding = Verdict(findings=(Finding("Server: " + "x" * 1500),))
    today = dt.date(2026, 12, 4)
    d = decide(check, job, long_finding, inv.waivers, None, today)
    assert d.outcome == "fail"
    assert d.text.startswith("The waiver for this finding expired on 2020-03-31")
    assert d.text.index("expired") < 60
    summary = RunSummary(inventory=inv, targets_path="targets.yaml", today=today)
    text = "\n".join(summary.render())
    assert "expired waivers: 1" in text
    assert summary.as_dict()["expired_waivers"] == ["banner.disclosure@web-01"]
