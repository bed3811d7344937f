"""End to end: the shipped targets.yaml against the embedded demo lab, through `pytest suites/`.

The lab is real: loopback services with known weaknesses. Each area must find the lab's planted
defects on lab-legacy, pass on lab-secure, and measure everything (nothing broken).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.lab import SERVICES
from harness.lab.control import down, up
from harness.lab.net_services import port_open

ROOT = Path(__file__).resolve().parent.parent
LAB_DIR = ROOT / "reports" / "lab"


@pytest.fixture(scope="module")
def lab() -> Iterator[None]:
    running = all(port_open(s.host, s.port) for s in SERVICES)
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
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "suites/",
            "--targets",
            "targets.yaml",
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
