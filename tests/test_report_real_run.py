"""What a real run leaves for its readers: SARIF that code scanning accepts, and a test page
for people (short parameters, steps that say what happened, probe times as durations).

One real run for the module: real TLS servers on 127.0.0.1, the real TLS suite and sslyze, in a
pytest subprocess. Nothing here is stub data.
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from allure_results import by_target_and_check
from browser import browser, off_origin
from tls_servers import HOST, https_server, make_pki, strong_context

from harness.output.report import find_allure

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "suites" / "test_tls.py"
MULTITOOL = ROOT / "node_modules" / "@microsoft" / "sarif-multitool-linux" / "Sarif.Multitool"
INTERNAL = ("measurement", "judge", "_harness_labels", "subject", "inventory")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A repository folder with configs/targets.yaml, scanned once; returns the folder."""
    repo = tmp_path_factory.mktemp("repo")
    pki = make_pki(repo)
    servers = {
        "good": https_server(strong_context(pki.leaf("good", ["good.test"]))),
        "expiring": https_server(
            strong_context(pki.leaf("expiring", ["expiring.test"], days=(-70, 10)))
        ),
        "self-signed": https_server(strong_context(pki.leaf("self", ["self.test"], issuer="self"))),
    }
    lines = ["version: 1", "defaults:", f"  ca_bundle: {pki.bundle}", "  timeout: 3", "targets:"]
    for name, (port, _) in servers.items():
        lines += [
            f"  - name: {name}",
            f"    host: {HOST}",
            "    tls:",
            f"      - {{port: {port}, server_name: {name.replace('-signed', '')}.test}}",
        ]
    (repo / "configs").mkdir()
    (repo / "configs" / "targets.yaml").write_text("\n".join(lines) + "\n")
    shutil.copy(SUITE, repo / "test_tls.py")
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "test_tls.py", "--targets", "configs/targets.yaml"),
            *("-p", "no:cacheprovider", "--alluredir", "allure", "-q", "-rN"),
            *("--known-findings", "known.json"),
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=600,
    )
    for _, server in servers.values():
        server.shutdown()
    assert list((repo / "allure").glob("*-result.json")), proc.stdout[-3000:] + proc.stderr
    yield repo


def _sarif(repo: Path) -> dict[str, Any]:
    out = subprocess.run(
        [
            *(sys.executable, "-m", "harness.cli", "sarif", "--results", "allure"),
            *("--output", "out.sarif", "--source-root", "."),
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    doc: dict[str, Any] = json.loads((repo / "out.sarif").read_text())
    return doc


def test_every_sarif_result_has_a_physical_location_and_a_fingerprint(run: Path) -> None:
    doc = _sarif(run)
    results = doc["runs"][0]["results"]
    rules = {r["id"]: r for r in doc["runs"][0]["tool"]["driver"]["rules"]}
    assert {r["ruleId"] for r in results} >= {"tls.cert.expiry", "tls.cert.trust"}
    declared = (run / "configs" / "targets.yaml").read_text().splitlines()
    for result in results:
        [loc] = result["locations"]
        physical = loc["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == "configs/targets.yaml"
        line = physical["region"]["startLine"]
        # the line declares the endpoint of the target the finding is about
        target = result["properties"]["target"]
        assert declared[line - 1].strip().startswith("- {port:"), (line, declared)
        assert declared[line - 4].strip() == f"- name: {target}"
        assert result["partialFingerprints"]["harnessFinding/v3"]
        assert result["properties"]["firstSeen"]
        severity = float(rules[result["ruleId"]]["properties"]["security-severity"])
        assert 0.0 <= severity <= 10.0
    for rule in rules.values():
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert "How to fix" in rule["help"]["text"]
    # the expiring certificate's alert is known by its fingerprint, not by its day count
    [expiry] = [
        r for r in results if r["properties"]["target"] == "expiring" and "expiry" in r["ruleId"]
    ]
    assert (
        "#sha256:" in expiry["properties"]["finding"]
        and "days" not in expiry["properties"]["finding"]
    )
    assert len({r["partialFingerprints"]["harnessFinding/v3"] for r in results}) == len(results)


def _multitool_errors(folder: Path, sarif: str) -> list[str]:
    """Error-level results of Microsoft's SARIF Multitool with GitHub's ingestion rules. Its exit
    code stays 0 on rule errors, so the log is read. Called directly: the npm wrapper re-splits
    its arguments through a shell, and the ';' would end the command."""
    assert MULTITOOL.exists(), "SARIF Multitool missing: run `npm ci` (package-lock.json pins it)"
    log = folder / f"{sarif}.check"
    log.unlink(missing_ok=True)
    proc = subprocess.run(
        [str(MULTITOOL), "validate", "--rule-kind", "Gh;Sarif", "-o", log.name, sarif],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0 and log.exists(), proc.stdout[-2000:] + proc.stderr[-2000:]
    report = json.loads(log.read_text())
    return [
        f"{r['ruleId']}: {r['message'].get('text', r['message'])}"
        for r in report["runs"][0].get("results", [])
        if r.get("level", "warning") == "error"
    ]


def test_sarif_passes_the_multitool_with_githubs_rules(run: Path) -> None:
    doc = _sarif(run)
    assert _multitool_errors(run, "out.sarif") == []
    # and the validator can fail: a rule without fullDescription and help breaks GH2012
    del doc["runs"][0]["tool"]["driver"]["rules"][0]["help"]
    (run / "bad.sarif").write_text(json.dumps(doc))
    assert any(e.startswith("GH2012") for e in _multitool_errors(run, "bad.sarif"))


def _results(run: Path) -> dict[tuple[str, str], Any]:
    return by_target_and_check(run / "allure")


def test_the_page_speaks_to_people(run: Path) -> None:
    results = _results(run)
    expiry = results[("expiring", "tls.cert.expiry")]
    params = {p["name"]: p["value"] for p in expiry["parameters"]}
    port = params["port"]
    assert params["subject"] == f"expiring:{port}"
    assert params["address"] == HOST and params["SNI"] == "expiring.test"
    assert params["profile"] == "intermediate"
    assert all(len(v) < 60 for v in params.values()), params  # no Python repr
    names = [s["name"] for s in expiry["steps"]]
    assert names[0].startswith(f"sslyze scan of {HOST}:{port} (") and names[0].endswith(" s)")
    assert names[1] == "judged against a minimum of 30 days left"
    assert results[("good", "tls.protocols")]["steps"][-1]["name"] == (
        "judged against Mozilla intermediate 5.7"
    )
    message = expiry["statusDetails"]["message"]
    assert "Finding first seen " in message and "(0 days open)" in message
    assert {lb["name"] for lb in expiry["labels"]} >= {"first_seen", "finding_id"}
    # the scan's evidence rides in the probe step of every result of the endpoint, written once
    attached = {
        a["source"]: a["name"]
        for r in results.values()
        for s in r["steps"]
        for a in s.get("attachments", [])
    }
    assert sorted(a for a in attached.values() if a.startswith("sslyze scan of")) == [
        f"sslyze scan of {name}:{results[(name, 'tls.grade')]['parameters'][2]['value']}"
        for name in sorted(("good", "expiring", "self-signed"))
    ]
    for (name, check), result in results.items():
        shown = [a["name"] for s in result["steps"] for a in s.get("attachments", [])]
        assert any(a.startswith(f"sslyze scan of {name}:") for a in shown), (name, check)
    # no internal fixture name reaches the report, as a step or as a set-up
    shown = [s["name"] for r in results.values() for s in r["steps"]]
    for container in (run / "allure").glob("*-container.json"):
        data = json.loads(container.read_text())
        shown += [f["name"] for f in data.get("befores", []) + data.get("afters", [])]
    assert not set(shown) & set(INTERNAL), shown


def test_durations_are_the_probes(run: Path) -> None:
    results = _results(run)
    by_subject: dict[str, set[tuple[int, int]]] = {}
    for (target, _), result in results.items():
        assert result["stop"] > result["start"], (target, result["start"], result["stop"])
        by_subject.setdefault(target, set()).add((result["start"], result["stop"]))
    # every check of a subject shows that subject's probe time; subjects differ
    assert all(len(times) == 1 for times in by_subject.values()), by_subject
    assert len({t for times in by_subject.values() for t in times}) == len(by_subject)
    step = results[("good", "tls.grade")]["steps"][0]
    assert (step["start"], step["stop"]) == next(iter(by_subject["good"]))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "site"
    root.mkdir()
    handler = functools.partial(_Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()


@pytest.mark.skipif(find_allure() is None, reason="Allure CLI missing: run `npm ci`")
def test_the_test_page_in_a_browser(run: Path, site: tuple[str, Path], tmp_path: Path) -> None:
    origin, root = site
    out = subprocess.run(
        [
            *(sys.executable, "-m", "harness.cli", "report", "--results", "allure"),
            *("--output", str(root), "--history", "none"),
        ],
        cwd=run,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    page_id = next(
        data["id"]
        for data in map(lambda p: json.loads(p.read_text()), root.glob("data/test-results/*.json"))
        if {"target": "expiring", "check": "tls.cert.expiry"}.items()
        <= {lb["name"]: lb["value"] for lb in data["labels"]}.items()
    )
    shot = ROOT / "reports" / "test-page-browser-test.png"
    with browser(tmp_path / "profile") as page:
        page.open(f"{origin}/index.html#/{page_id}")
        text = page.text()
        # Allure shows the description in an iframe of its own: its text, or its source
        framed = page.call(
            "Runtime.evaluate",
            expression="[...document.querySelectorAll('iframe')].map(f => (f.contentDocument"
            " && f.contentDocument.body && f.contentDocument.body.innerText) || f.srcdoc || '')"
            ".join('\\n')",
        )["result"].get("value", "")
        page.screenshot(shot, height=2200)
    assert off_origin(page.requests, origin + "/") == []
    assert "sslyze scan of" in text and "judged against a minimum of 30 days left" in text
    assert "first seen" in text
    # the page's description: the verdict's meaning and the fix, with named references
    for said in ("What was checked", "Who is affected", "How to fix", "CWE-298"):
        assert said in framed, (said, framed)
    assert "Renew the certificate before it expires" in framed.split("How to fix", 1)[1]
    for name in ("measurement", "judge", "_harness_labels"):  # "subject" names the parameter
        assert name not in text.split(), name
    assert "Job(" not in text and "Target(" not in text
    assert shot.stat().st_size > 10_000
