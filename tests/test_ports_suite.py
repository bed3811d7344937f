"""The ports and banners suites end to end: real listeners, the real nmap, one run of both suites.

Listeners start once for the module on their own 127.0.50.4x addresses, and each target scans
an explicit list of its listeners' ports (other processes may listen on 0.0.0.0). The suites
run once in a pytest subprocess; each test below reads one (target, check) Allure result.
"""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from allure_results import assert_status, by_target_and_check, fixture_attachments

from harness.lab.net_services import FilteredPort, http_banner, tcp_service
from harness.policy import catalogue

SUITES = Path(__file__).parents[1] / "suites"
CHECKS = ["ports.unexpected", "ports.risky_service", "banner.disclosure", "banner.outdated"]
BROKEN = dict.fromkeys(CHECKS, "broken")
# target -> check -> status; a missing check is not applicable to the target
EXPECTED: dict[str, dict[str, str]] = {
    "legacy": dict.fromkeys(CHECKS, "failed"),
    "hardened": {
        "ports.unexpected": "passed",
        "ports.risky_service": "passed",
        "banner.disclosure": "passed",
        "banner.outdated": "passed",
    },
    "debian13": {
        "ports.unexpected": "passed",
        "ports.risky_service": "passed",
        "banner.disclosure": "failed",
        "banner.outdated": "passed",
    },
    "debian12": {"banner.outdated": "failed"},
    "behind": {"banner.outdated": "failed"},
    "timeout": BROKEN,
    "web-only": {"banner.disclosure": "failed", "banner.outdated": "failed"},
    "refused": {"banner.disclosure": "broken", "banner.outdated": "broken"},
}


def _closed_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[tuple[str, str], Any]]:
    d = tmp_path_factory.mktemp("ports")
    legacy, hardened, deb13, deb12, behind, slow, web = (f"127.0.50.{n}" for n in range(41, 48))
    servers = {
        "legacy-ssh": tcp_service(legacy, 0, greeting=b"SSH-2.0-OpenSSH_7.4\r\n"),
        "legacy-ftp": tcp_service(legacy, 0, greeting=b"220 (vsFTPd 2.3.4)\r\n"),
        "legacy-http": http_banner(
            legacy, headers=(("Server", "Apache/2.2.15 (CentOS)"), ("X-Powered-By", "PHP/5.3.3"))
        ),
        "legacy-extra": tcp_service(legacy, 0, greeting=b"220 mx.lab.test ESMTP Postfix\r\n"),
        "hardened-http": http_banner(hardened, headers=(("Server", "nginx"),)),
        "deb13-ssh": tcp_service(deb13, 0, greeting=b"SSH-2.0-OpenSSH_10.0p1 Debian-7\r\n"),
        "deb12-ssh": tcp_service(deb12, 0, greeting=b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10\r\n"),
        "behind-http": http_banner(behind, headers=(("Server", "nginx/1.30.1"),)),
        "web-http": http_banner(
            web, headers=(("Server", "Microsoft-IIS/8.5"), ("X-AspNet-Version", "4.0.30319"))
        ),
    }
    port = {name: s.server_address[1] for name, s in servers.items()}
    filtered = FilteredPort(slow)

    def ports(*names: str) -> str:
        return ",".join(str(port[n]) for n in names)

    legacy_declared = ports("legacy-ssh", "legacy-ftp", "legacy-http")
    targets = f"""\
version: 1
defaults:
  timeout: 2
targets:
  - name: legacy
    host: {legacy}
    ports: {{expected: [{legacy_declared}], scan: "{legacy_declared},{port["legacy-extra"]}"}}
    http: [{{url: "http://{legacy}:{port["legacy-http"]}/"}}]
  - name: hardened
    host: {hardened}
    ports: {{expected: [{port["hardened-http"]}], scan: "{port["hardened-http"]}"}}
    http: [{{url: "http://{hardened}:{port["hardened-http"]}/"}}]
  - name: debian13
    host: {deb13}
    ports: {{expected: [{port["deb13-ssh"]}], scan: "{port["deb13-ssh"]}"}}
  - name: debian12
    host: {deb12}
    ports: {{expected: [{port["deb12-ssh"]}], scan: "{port["deb12-ssh"]}"}}
  - name: behind
    host: {behind}
    ports: {{expected: [{port["behind-http"]}], scan: "{port["behind-http"]}"}}
  - name: timeout
    host: {slow}
    timeout: 0.01
    ports: {{expected: [], scan: all}}
  - name: web-only
    host: {web}
    http: [{{url: "http://{web}:{port["web-http"]}/app"}}]
  - name: refused
    host: {web}
    http: [{{url: "http://{web}:{_closed_port(web)}/"}}]
"""
    (d / "targets.yaml").write_text(targets)
    for suite in ("test_ports.py", "test_banners.py"):
        shutil.copy(SUITES / suite, d / suite)
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "test_ports.py", "test_banners.py"),
            *("--targets", "targets.yaml", "-p", "no:cacheprovider", "--alluredir", "allure"),
            *("-q", "-rN"),
        ],
        cwd=d,
        capture_output=True,
        text=True,
        timeout=300,
    )
    filtered.close()
    for server in servers.values():
        server.shutdown()
        server.server_close()
    results = by_target_and_check(d / "allure")
    results[("", "stdout")] = proc.stdout
    results[("", "ports")] = port
    results[("", "attachments")] = fixture_attachments(d / "allure")
    results[("", "dir")] = d / "allure"
    results[("", "environment")] = dict(
        line.split("=", 1)
        for line in (d / "allure" / "environment.properties").read_text().splitlines()
    )
    yield results


def _cases() -> list[tuple[str, str, str]]:
    return [(t, c, s) for t, checks in EXPECTED.items() for c, s in checks.items()]


@pytest.mark.parametrize(("target", "check", "status"), _cases())
def test_every_check_passes_and_fails_where_it_should(
    run: dict[tuple[str, str], Any], target: str, check: str, status: str
) -> None:
    assert_status(run, target, check, status)


def _message(run: dict[tuple[str, str], Any], target: str, check: str) -> str:
    return str(run[(target, check)]["statusDetails"]["message"])


def _labels(run: dict[tuple[str, str], Any], target: str, check: str) -> dict[str, str]:
    return {lb["name"]: lb["value"] for lb in run[(target, check)]["labels"]}


def test_unexpected_port_names_port_service_and_product(run: dict[tuple[str, str], Any]) -> None:
    message = _message(run, "legacy", "ports.unexpected")
    assert message.count("is open but not in ports.expected") == 1
    assert f"port {run[('', 'ports')]['legacy-extra']}/tcp is open" in message
    assert "smtp: Postfix smtpd" in message and "nmap scanned" in message


def test_risky_service_gives_severity_and_reason(run: dict[tuple[str, str], Any]) -> None:
    message = _message(run, "legacy", "ports.risky_service")
    assert "FTP reachable on port" in message and "vsftpd 2.3.4" in message
    assert "cleartext" in message
    assert _labels(run, "legacy", "ports.risky_service")["risk"] == "medium"


def test_disclosure_names_the_header_or_greeting(run: dict[tuple[str, str], Any]) -> None:
    legacy = _message(run, "legacy", "banner.disclosure")
    assert "Server header of http://" in legacy and "Apache/2.2.15" in legacy
    assert "X-Powered-By header" in legacy and "PHP/5.3.3" in legacy
    assert "SSH identification string of port" in legacy and "OpenSSH_7.4" in legacy
    assert "FTP greeting of port" in legacy and "vsFTPd 2.3.4" in legacy
    assert _labels(run, "legacy", "banner.disclosure")["risk"] == "low"
    web = _message(run, "web-only", "banner.disclosure")
    assert "X-AspNet-Version header" in web and "Microsoft-IIS/8.5" in web


def test_outdated_judges_known_bad_eol_and_distro_builds(run: dict[tuple[str, str], Any]) -> None:
    legacy = _message(run, "legacy", "banner.outdated")
    assert "vsftpd 2.3.4" in legacy and "known-bad release" in legacy
    assert "OpenSSH 7.4" in legacy and "release line 7 reached end of life" in legacy
    assert "packaged by CentOS Linux 6" in legacy and "2020-11-30" in legacy
    assert _labels(run, "legacy", "banner.outdated")["risk"] == "critical"
    deb12 = _message(run, "debian12", "banner.outdated")
    assert "Debian 12 (bookworm)" in deb12 and "Debian LTS" in deb12
    assert "not upstream" in deb12
    assert _labels(run, "debian12", "banner.outdated")["risk"] == "low"
    behind = _message(run, "behind", "banner.outdated")
    assert "behind 1.30.4" in behind
    assert _labels(run, "behind", "banner.outdated")["risk"] == "medium"
    web = _message(run, "web-only", "banner.outdated")
    assert "Microsoft IIS 8.5" in web and "end of life on 2023-10-10" in web


def test_report_shows_the_catalogue_date(run: dict[tuple[str, str], Any]) -> None:
    for target in ("legacy", "debian13", "hardened"):
        assert _labels(run, target, "banner.outdated")["catalogue"] == "2026-08-22"
    assert "software catalogue snapshot of 2026-08-22" in _message(run, "legacy", "banner.outdated")


def test_environment_properties_tell_the_catalogue_date_and_age(
    run: dict[tuple[str, str], Any],
) -> None:
    props = run[("", "environment")]
    shipped = yaml.safe_load(Path(catalogue.load().path).read_text())["snapshot"]
    assert props["version.catalogue.date"] == str(shipped) == "2026-08-22"
    assert not [k for k, v in props.items() if v == "unknown"], props
    # the same note in every banner result, the summary and the report, on the real clock
    # (tests/test_catalogue_age.py shows both sides of the line with a frozen one)
    note = catalogue.load().stale_note(dt.date.today())
    assert props.get("version.catalogue.note") == note
    for target in ("legacy", "hardened"):
        for check in ("banner.outdated", "banner.disclosure"):
            notes = _notes(run, target, check)
            assert (note in notes) if note else ("catalogue refresh" not in notes), (target, check)
    assert (f"note: {note}" in run[("", "stdout")]) if note else True


def _notes(run: dict[tuple[str, str], Any], target: str, check: str) -> str:
    """The message of a failed result, or the 'what was checked' note of a passed one (in the
    description; older runs attached it)."""
    result = run[(target, check)]
    # the description's "What was found" (its other sections are the catalogue's, for every page)
    found = result.get("description", "").partition("### What was found")[2].split("###")[0]
    found = found.replace("\\", "")  # Markdown escapes, for the comparison
    texts = [result.get("statusDetails", {}).get("message", ""), found]
    steps = [a for s in result.get("steps", []) for a in s.get("attachments", [])]
    for attachment in result.get("attachments", []) + steps:
        if attachment["name"] == "what was checked":
            texts.append((run[("", "dir")] / attachment["source"]).read_text())
    return " ".join(texts)


def test_timed_out_host_is_broken_never_no_open_ports(run: dict[tuple[str, str], Any]) -> None:
    message = _message(run, "timeout", "ports.unexpected")
    assert "(timeout)" in message and "host timeout of 1 s" in message
    assert "open ports are unknown" in message
    assert "port scan failed" in _message(run, "timeout", "banner.outdated")


def test_unreachable_declared_endpoint_is_broken(run: dict[tuple[str, str], Any]) -> None:
    message = _message(run, "refused", "banner.disclosure")
    assert "(refused)" in message and "connection refused" in message


def test_nmap_xml_is_attached_once_per_target(run: dict[tuple[str, str], Any]) -> None:
    names = run[("", "attachments")]
    assert names.count("nmap port scan of legacy") == 1, names
    assert names.count("nmap version detection on legacy") == 1, names
    assert names.count("banners of legacy") == 1, names
    assert "[ports] legacy: done in" in run[("", "stdout")]
