"""SARIF a reviewer can act on: one message per finding naming the subject and the fact, the
level and security-severity of that finding (not of its result's worst finding), waived
findings as suppressions, fingerprints that survive a change of evidence, informationUri; and
Microsoft's SARIF Multitool with GitHub's rules reports nothing at all.

The run goes through the real plugin and allure-pytest (pytester), with the counting probe of
plugin_lab standing in for nmap: what is tested is the path from verdict to SARIF.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from plugin_lab import make_lab

from harness.commands import sarif as sarif_command
from harness.output import sarif

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
MULTITOOL = ROOT / "node_modules" / "@microsoft" / "sarif-multitool-linux" / "Sarif.Multitool"

SUITE = """
import pytest
from harness import Finding, Severity, Verdict

pytestmark = pytest.mark.ports

@pytest.mark.check("ports.unexpected")
def test_ports_unexpected(subject, measurement, judge):
    extra = [p for p in measurement if p not in subject.target.ports.expected]
    # one escalated finding beside a plain one: each keeps its own severity
    judge(Verdict(findings=tuple(
        Finding(f"port {p} is open and not declared", Severity.CRITICAL if p == 8080 else None,
                key=f"{p}/tcp")
        for p in extra)))

@pytest.mark.check("ports.risky_service")
def test_ports_risky_service(subject, measurement, judge):
    risky = [p for p in measurement if p == 5432]
    judge(Verdict(findings=tuple(Finding(f"PostgreSQL answers on {p}", key=f"{p}/tcp") for p in risky)))
"""


@pytest.fixture
def doc(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    lab = make_lab(pytester, monkeypatch)
    lab.makepyfile(test_suite=SUITE)
    targets = (lab.path / "targets.yaml").read_text()
    # web-01 shows 80 and 8080 open with only 443 declared: two findings of one result
    (lab.path / "targets.yaml").write_text(targets.replace("expected: [80]", "expected: [443]"))
    lab.runpytest("-p", "no:cacheprovider", "--alluredir", "results")
    out = lab.path / "out.sarif"
    assert sarif_command.main(
        ["--results", "results", "--output", str(out), "--source-root", "."]
    ) in (
        0,
        1,  # down-01 could not be measured: incomplete, which is not what is tested here
    )
    return json.loads(out.read_text())  # type: ignore[no-any-return]


def _by_finding(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["properties"]["finding"]: r for r in doc["runs"][0]["results"]}


def test_each_finding_has_its_own_message_level_and_severity(doc: dict[str, Any]) -> None:
    results = _by_finding(doc)
    high = results["ports.unexpected@web-01#8080/tcp"]
    plain = results["ports.unexpected@web-01#80/tcp"]
    assert (
        high["message"]["text"]
        == "Unexpected open port on web-01: port 8080 is open and not declared."
    )
    assert (
        plain["message"]["text"]
        == "Unexpected open port on web-01: port 80 is open and not declared."
    )
    assert (high["level"], high["properties"]["security-severity"]) == ("error", "9.5")
    assert (plain["level"], plain["properties"]["security-severity"]) == ("warning", "5.5")
    assert "suppressions" not in high and "suppressions" not in plain
    driver = doc["runs"][0]["tool"]["driver"]
    assert driver["informationUri"].endswith("README.md") or "#readme" in driver["informationUri"]


def test_a_waived_finding_is_emitted_as_a_suppression(doc: dict[str, Any]) -> None:
    waived = _by_finding(doc)["ports.risky_service@db-01#5432/tcp"]
    [suppression] = waived["suppressions"]
    assert suppression["kind"] == "external" and suppression["status"] == "accepted"
    assert suppression["justification"] == "legacy database, migration planned"
    assert suppression["properties"] == {"owner": "dba-team", "expires": "2999-01-01"}
    assert "PostgreSQL answers on 5432" in waived["message"]["text"]


def test_fingerprints_survive_a_change_of_evidence() -> None:
    before = sarif.fingerprint("tls.ciphers@web:443#TLS 1.2: TLS_RSA_WITH_NULL_SHA TLS_RSA_X")
    after = sarif.fingerprint("tls.ciphers@web:443#TLS 1.2: TLS_RSA_X")  # one suite removed
    other = sarif.fingerprint("tls.ciphers@web:443#TLS 1.1: TLS_RSA_X")
    assert before == after != other
    assert sarif.fingerprint("ports.unexpected@web#80/tcp") != sarif.fingerprint(
        "ports.unexpected@web#81/tcp"
    )
    assert sarif.fingerprint("tls.cert.trust@web:443@127.0.0.1#sha256:ab") != sarif.fingerprint(
        "tls.cert.trust@web:443@::1#sha256:ab"
    )


def test_the_multitool_reports_no_error_and_no_warning(doc: dict[str, Any], tmp_path: Path) -> None:
    assert MULTITOOL.exists(), "SARIF Multitool missing: run `npm ci` (package-lock.json pins it)"
    (tmp_path / "in.sarif").write_text(json.dumps(doc))
    proc = subprocess.run(
        [str(MULTITOOL), "validate", "--rule-kind", "Gh;Sarif", "-o", "log.sarif", "in.sarif"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    log = json.loads((tmp_path / "log.sarif").read_text())
    found = [
        f"{r['ruleId']} ({r.get('level', 'warning')}): {r['message']}"
        for r in log["runs"][0].get("results", [])
        if r.get("level", "warning") in ("error", "warning")
    ]
    assert found == []
    # and the same check does see a warning: SARIF2005 wants the tool's informationUri
    del doc["runs"][0]["tool"]["driver"]["informationUri"]
    (tmp_path / "bad.sarif").write_text(json.dumps(doc))
    subprocess.run(
        [str(MULTITOOL), "validate", "--rule-kind", "Gh;Sarif", "-o", "bad.log", "bad.sarif"],
        cwd=tmp_path,
        capture_output=True,
        timeout=300,
    )
    bad = json.loads((tmp_path / "bad.log").read_text())["runs"][0].get("results", [])
    assert any(r["ruleId"].startswith("SARIF2005") for r in bad), bad


# GitLab's Code Quality report: the fields GitLab reads (docs.gitlab.com, "Code Quality report
# format"), each with the type it expects; GitLab's JSON schema cannot be fetched offline here
CODE_QUALITY_FIELDS = {"description": str, "check_name": str, "fingerprint": str, "severity": str}
GITLAB_SEVERITIES = {"info", "minor", "major", "critical", "blocker"}


def test_the_gitlab_code_quality_report_holds_every_open_finding(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = make_lab(pytester, monkeypatch)
    lab.makepyfile(test_suite=SUITE)
    targets = (lab.path / "targets.yaml").read_text()
    (lab.path / "targets.yaml").write_text(targets.replace("expected: [80]", "expected: [443]"))
    lab.runpytest("-p", "no:cacheprovider", "--alluredir", "results")
    out, cq = lab.path / "out.sarif", lab.path / "gl-code-quality.json"
    code = sarif_command.main(
        [
            "--results",
            "results",
            "--output",
            str(out),
            "--source-root",
            ".",
            "--codequality",
            str(cq),
        ]
    )
    assert code in (0, 1)  # down-01 could not be measured: incomplete, as in the SARIF
    doc, issues = json.loads(out.read_text()), json.loads(cq.read_text())
    open_findings = [r for r in doc["runs"][0]["results"] if not r.get("suppressions")]
    assert len(issues) == len(open_findings) >= 2
    for issue in issues:
        for field, kind in CODE_QUALITY_FIELDS.items():
            assert isinstance(issue[field], kind) and issue[field], (field, issue)
        assert issue["severity"] in GITLAB_SEVERITIES
        assert issue["location"]["path"] == "targets.yaml"
        assert isinstance(issue["location"]["lines"]["begin"], int)
    by_text = {i["description"]: i for i in issues}
    high = by_text["Unexpected open port on web-01: port 8080 is open and not declared."]
    plain = by_text["Unexpected open port on web-01: port 80 is open and not declared."]
    assert (high["severity"], plain["severity"]) == ("critical", "minor")
    assert high["fingerprint"] != plain["fingerprint"]
    assert not any("5432" in i["description"] for i in issues)  # waived: left out
