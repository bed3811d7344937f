"""Fail closed, end to end: a run in which a target could not be measured exits non-zero even
when every check that was measured passed, whatever --fail-on says, and the end-of-run summary
names each such target and why."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_servers import UNRESOLVABLE
from tls_servers import HOST, closed_port, https_server, make_pki, strong_context

from harness.checks import catalogue

SUITE = Path(__file__).parents[1] / "suites" / "test_tls.py"


@pytest.mark.parametrize("gate", [[], ["--fail-on", "critical"]], ids=["default", "fail-on"])
def test_one_unmeasured_target_fails_a_run_whose_measured_checks_all_pass(
    tmp_path: Path, gate: list[str]
) -> None:
    pki = make_pki(tmp_path)
    port, server = https_server(strong_context(pki.leaf("strong", ["strong.test"])))
    dead = closed_port()
    (tmp_path / "targets.yaml").write_text(
        "version: 1\n"
        f"defaults: {{timeout: 3, ca_bundle: {pki.bundle}}}\n"
        "targets:\n"
        f"  - name: good\n    host: {HOST}\n    tls: [{{port: {port}, server_name: strong.test}}]\n"
        f"  - name: gone\n    host: {HOST}\n    tls: [{{port: {dead}}}]\n"
        f"  - name: nowhere\n    host: {UNRESOLVABLE}\n    tls: [{{port: 443}}]\n"
    )
    shutil.copy(SUITE, tmp_path / "test_tls.py")
    try:
        proc = subprocess.run(
            [
                *(sys.executable, "-m", "pytest", "test_tls.py", "--targets", "targets.yaml"),
                *("-p", "no:cacheprovider", "-q", "--summary-json", "summary.json", *gate),
                # Python's ssl has no ML-KEM: the one finding a strong server has here
                *("-k", "not post_quantum"),
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        server.shutdown()
    summary = json.loads((tmp_path / "summary.json").read_text())
    by_target: dict[str, set[str]] = {}
    for r in summary["results"]:
        by_target.setdefault(r["target"], set()).add(r["status"])
    assert by_target == {"good": {"passed"}, "gone": {"broken"}, "nowhere": {"broken"}}
    checks = sum(c.area == "tls" for c in catalogue().values()) - 1  # all but post_quantum
    assert summary["findings"] == 0 and summary["could_not_measure"] == 2 * checks

    assert proc.returncode == 1, proc.stdout[-3000:]
    out = proc.stdout
    assert f"could not measure: {2 * checks}" in out
    # one line per subject and reason, not one per check
    assert f"could not measure gone:{dead} [{checks} checks]: " in out
    assert "(refused): connection refused" in out
    assert f"could not measure nowhere:443 [{checks} checks]: " in out
    assert out.count("could not measure nowhere:443 [") == 1
    assert f"(dns): the host name {UNRESOLVABLE} does not resolve" in out
    table = out[out.index("harness summary") :]
    assert "good" in table and f"ok {checks}" in table and f"{checks}?" in table


def test_an_area_without_subjects_is_skipped_not_an_internal_error(tmp_path: Path) -> None:
    (tmp_path / "targets.yaml").write_text(
        f"version: 1\ntargets:\n  - name: web\n    host: {HOST}\n    tls: [{{port: 1}}]\n"
    )
    shutil.copy(SUITE.parent / "test_ports.py", tmp_path / "test_ports.py")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "test_ports.py", "--targets", "targets.yaml", "-rs"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # no subject, no test (no "[NOTSET] empty parameter set" skip): pytest's "nothing selected"
    assert proc.returncode == 5, proc.stdout[-2000:]
    assert "INTERNALERROR" not in proc.stdout and "2 deselected" in proc.stdout
