"""End to end: the shipped targets.yaml against the embedded demo lab, through `pytest suites/`.

The lab is real: loopback services with known weaknesses. Each area must find the lab's planted
defects on lab-legacy, pass on lab-secure, and measure everything (nothing broken).

Robust to the machine: a developer's server on 0.0.0.0:3000 is open on 127.0.0.11 too, and the
harness is right to see it. So the run scans the lab's range minus the ports that are open on a
sibling loopback address the lab never binds (127.0.0.13): those listen on the wildcard address
and are not the lab's. It stays honest because every port the lab serves is asserted to stay in
the scanned range (a lab port can never be excluded), so the planted undeclared port 6379 is
always scanned and must still fail `ports.unexpected`.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.checks import get_check
from harness.lab import SERVICES
from harness.lab.control import down, up
from harness.lab.net_services import port_open

ROOT = Path(__file__).resolve().parent.parent
LAB_DIR = ROOT / "reports" / "lab"
LAB_RANGE = (2100, 9000)  # targets.yaml's ports.scan for both lab hosts
OUTSIDER = "127.0.0.13"  # loopback, never bound by the lab: what is open here is not the lab's


def foreign_ports(host: str = OUTSIDER, lo: int = LAB_RANGE[0], hi: int = LAB_RANGE[1]) -> set[int]:
    """Ports in the lab's range with a listener reachable on `host` (wildcard listeners)."""
    found = set()
    for port in range(lo, hi + 1):
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex((host, port)) == 0:
                found.add(port)
    return found


def scan_spec(lo: int, hi: int, exclude: set[int]) -> str:
    """'lo-hi' minus `exclude`, as nmap ranges: scan_spec(1, 9, {4}) == '1-3,5-9'."""
    parts, start = [], lo
    for port in [*sorted(p for p in exclude if lo <= p <= hi), hi + 1]:
        if port > start:
            parts.append(f"{start}-{port - 1}" if port - 1 > start else str(start))
        start = port + 1
    return ",".join(parts)


def test_scan_spec() -> None:
    assert scan_spec(1, 9, set()) == "1-9"
    assert scan_spec(1, 9, {4}) == "1-3,5-9"
    assert scan_spec(1, 9, {1, 2, 9}) == "3-8"
    assert scan_spec(1, 9, {5, 6}) == "1-4,7-9"


def lab_targets(dest: Path, exclude: set[int]) -> Path:
    """The shipped targets.yaml, scanning the lab's range minus `exclude` (with the lab's CA
    path made absolute, since the copy lives elsewhere)."""
    lab_ports = {s.port for s in SERVICES}
    assert not exclude & lab_ports, "a lab port is never excluded; the test would lose its teeth"
    data = yaml.safe_load((ROOT / "targets.yaml").read_text())
    data["defaults"]["ca_bundle"] = str(ROOT / data["defaults"]["ca_bundle"])
    for target in data["targets"]:
        assert target["ports"]["scan"] == f"{LAB_RANGE[0]}-{LAB_RANGE[1]}"
        target["ports"]["scan"] = scan_spec(*LAB_RANGE, exclude)
    path = dest / "targets.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def lab() -> Iterator[None]:
    running = all(port_open(s.host, s.port) for s in SERVICES)
    # a lab this checkout did not start (another checkout's, with its own CA) would fail every
    # trust check here: say so once instead
    assert not running or (LAB_DIR / "lab.pid").is_file(), (
        "the demo lab's addresses are held by a lab this checkout did not start (another "
        "checkout's?): stop it there with `harness lab down`"
    )
    if not running:
        assert up(LAB_DIR) == 0, "the demo lab did not start"
    yield
    if not running:
        down(LAB_DIR)


@pytest.fixture(scope="module")
def results(
    lab: None, tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[str, str], list[str]]:
    out = tmp_path_factory.mktemp("demo")
    targets = lab_targets(out, foreign_ports())
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "suites/",
            "--targets",
            str(targets),
            "-p",
            "no:cacheprovider",
            "--alluredir",
            str(out / "allure"),
            "--summary-json",
            str(out / "summary.json"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 1, proc.stdout[-5000:] + proc.stderr[-3000:]  # findings, as planted
    summary = json.loads((out / "summary.json").read_text())
    assert summary["could_not_measure"] == 0, [
        r for r in summary["results"] if r["status"] == "broken"
    ]
    by: dict[tuple[str, str], list[str]] = {}
    for r in summary["results"]:
        by.setdefault((r["target"], r["check"]), []).append(r["status"])
        if r["key"] != r["target"]:  # an endpoint's own statuses, by its subject key
            by.setdefault((r["key"], r["check"]), []).append(r["status"])
    by[("", "allure")] = [str(out / "allure")]
    by[("", "output")] = [proc.stdout + proc.stderr]
    for f in (out / "allure").glob("*-result.json"):  # finding texts, by (target, check, text)
        data = json.loads(f.read_text())
        labels = {lb["name"]: lb["value"] for lb in data["labels"]}
        text = data.get("statusDetails", {}).get("message", "")
        if "target" in labels and "check" in labels:
            by.setdefault((labels["target"], labels["check"] + " text"), []).append(text)
    return by


@pytest.mark.parametrize(
    "check",
    [
        "tls.protocols",
        "tls.cert.validity",
        "tls.cert.trust",
        "tls.cert.key",
        "tls.cert.signature",
        "tls.hsts",
        "tls.grade",
        "ports.unexpected",
        "ports.risky_service",
        "banner.outdated",
        "login.default_credentials",
        "login.anonymous",
        "login.cleartext",
        "ssh.ciphers",
        "ssh.macs",
        "ssh.terrapin",
    ],
)
def test_lab_legacy_has_the_planted_finding(
    results: dict[tuple[str, str], list[str]], check: str
) -> None:
    assert "failed" in results[("lab-legacy", check)]


@pytest.mark.parametrize(
    "check",
    [
        "tls.protocols",
        "tls.ciphers",
        "tls.cert.trust",
        "tls.cert.hostname",
        "tls.cert.validity",
        "tls.hsts",
        "tls.grade",
        "tls.profile",
        "ports.unexpected",
        "banner.outdated",
        "login.default_credentials",
    ],
)
def test_lab_secure_passes(results: dict[tuple[str, str], list[str]], check: str) -> None:
    assert set(results[("lab-secure", check)]) == {"passed"}


def test_the_undeclared_lab_tls_is_discovered_with_the_declared_one_findings(
    results: dict[tuple[str, str], list[str]],
) -> None:
    """The goal of discovery: lab-legacy's undeclared 4443 serves the legacy TLS settings of its
    declared 8443, and gets the same TLS findings (bar the host name: 8443 is declared with the
    certificate's server_name, a discovered port is reached at the address)."""
    found, declared = "lab-legacy:tls:4443 (discovered)", "lab-legacy:8443"
    checks = {c for k, c in results if k == declared and c.startswith("tls.")}
    assert len(checks) > 10
    for check in checks - {"tls.cert.hostname"}:
        assert results[(found, check)] == results[(declared, check)], check
    assert "tls (discovered)" in results[("", "output")][0]


def test_waiver_in_the_shipped_file_applies(results: dict[tuple[str, str], list[str]]) -> None:
    assert "waived" in results[("lab-legacy", "banner.disclosure")]


@pytest.mark.skipif(os.geteuid() != 0, reason="the lab's UDP services and nmap -sU need root")
def test_lab_legacy_snmp_public_community_and_udp_exposure(
    results: dict[tuple[str, str], list[str]],
) -> None:
    assert results[("lab-legacy:snmp:161", "login.default_credentials")] == ["failed"]
    assert results[("lab-legacy:snmp:161", "login.cleartext")] == ["failed"]
    assert set(results[("lab-secure", "ports.risky_service")]) == {"passed"}
    risky = "\n".join(results[("lab-legacy", "ports.risky_service text")])
    assert "SNMP reachable on port 161/udp" in risky and "NTP reachable on port 123/udp" in risky


def _pages(results: dict[tuple[str, str], list[str]]) -> list[dict[str, Any]]:
    return [
        json.loads(f.read_text()) for f in Path(results[("", "allure")][0]).glob("*-result.json")
    ]


def _attachments(node: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(node.get("attachments", []))
    for step in node.get("steps", []):
        found += _attachments(step)
    return found


def test_every_page_leads_with_its_meaning_and_evidence(
    results: dict[tuple[str, str], list[str]],
) -> None:
    """Each result page says what was checked, against what, what was found, who is affected
    and how to fix, whatever its status; each that is not a pass carries its evidence."""
    pages = _pages(results)
    assert len(pages) >= 80
    for page in pages:
        labels = {lb["name"]: lb["value"] for lb in page["labels"]}
        check = get_check(labels["check"])
        name = f"{page['name']} ({page['status']})"
        text = page.get("description", "")
        for section in ("What was checked", "Against what", "What was found", "Who is affected"):
            assert f"### {section}" in text, (name, text)
        assert "### How to fix" in text and check.remediation[:30] in text.replace("\\", ""), name
        assert f"[{check.id}]" not in text and "](https://" in text, name  # references, linked
        message = page.get("statusDetails", {}).get("message", "")
        assert not re.match(r"(?:[A-Za-z_]\w*\.)+[A-Z]\w*:|Failed:|Skipped:", message), message
        if page["status"] in ("failed", "broken", "skipped"):
            assert _attachments(page), f"{name}: no evidence attached"
        # the `host` label is the target's, never the name of the machine the run was on
        hosts = [lb["value"] for lb in page["labels"] if lb["name"] == "host"]
        assert len(hosts) == 1 and socket.gethostname() not in hosts, hosts


def test_evidence_is_on_every_result_that_used_it(
    results: dict[tuple[str, str], list[str]],
) -> None:
    """lab-legacy's nmap XML on every ports and banners result (written once), not on one."""
    pages = _pages(results)
    nmap = {}
    for page in pages:
        labels = {lb["name"]: lb["value"] for lb in page["labels"]}
        if labels["target"] == "lab-legacy" and labels["epic"] in ("ports", "banners"):
            found = [a for a in _attachments(page) if a["name"] == "nmap port scan of lab-legacy"]
            nmap[labels["check"]] = [a["source"] for a in found]
    assert nmap and all(len(sources) == 1 for sources in nmap.values()), nmap
    assert len({s for sources in nmap.values() for s in sources}) == 1  # one file, referred to


def test_pages_do_not_contradict_each_other(results: dict[tuple[str, str], list[str]]) -> None:
    """An expired certificate is validity's critical finding, not 'expires soon'; SNMP's fix
    does not say to serve the login over TLS; a long suite list is cut and attached whole."""
    assert results[("lab-legacy:8443", "tls.cert.validity")] == ["failed"]
    assert results[("lab-legacy:8443", "tls.cert.expiry")] == ["skipped"]
    by_page = {}
    for page in _pages(results):
        labels = {lb["name"]: lb["value"] for lb in page["labels"]}
        by_page[(labels["suite"], labels["check"])] = page
    snmp = by_page[("lab-legacy:snmp:161", "login.cleartext")]
    text = snmp["statusDetails"]["message"] + snmp["description"]
    assert "Serve the login only over TLS" not in text and "SNMPv3" in text
    profile = json.dumps(by_page[("lab-legacy:8443", "tls.profile")])
    assert profile.count("https://ssl-config.mozilla.org/guidelines/") == 1  # said once
    ciphers = by_page[("lab-legacy:8443", "tls.ciphers")]
    assert len(ciphers["statusDetails"]["message"]) < 2500
    assert "all listed items" in [a["name"] for a in _attachments(ciphers)]


def test_no_dependency_noise_in_the_output(results: dict[tuple[str, str], list[str]]) -> None:
    """sslyze's own CA store makes cryptography warn on every run, as if about the user's
    certificate: that warning is not shown (others still are)."""
    output = results[("", "output")][0]
    assert "CryptographyDeprecationWarning" not in output
    assert "serial number which wasn't positive" not in output
