"""The GitHub template's shell steps, as written, run by a user who is not root (a hosted
runner's user is not root) against the demo lab: the template's own `setcap` line gives nmap
its raw sockets, so the UDP half of the scan measures (the lab's NTP and SNMP are found, nothing
is "could not measure"); the report step's outputs let the upload through and the job pass.

The scan runs as uid 65534 through setpriv; nmap is a copy of the real binary in a folder on
PATH (so `command -v nmap` in the template finds it and setcap marks only the copy).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from test_demo_lab import foreign_ports, lab, lab_targets

from harness.output.report import find_allure

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "examples" / "ci" / "github-actions.yml"
# uid 65534 with no capability but CAP_DAC_READ_SEARCH, which only lets it reach this machine's
# Python under /root (mode 0700 here); nmap's raw sockets must come from the template's setcap
NOBODY = (
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
    "--inh-caps=-all,+dac_read_search",
    "--ambient-caps=-all,+dac_read_search",
    "--bounding-set=-all,+dac_read_search,+net_raw,+net_admin",
)

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None or shutil.which("setcap") is None,
    reason="root (to setcap and to switch to an unprivileged user), setpriv and setcap",
)
_ = lab  # the demo lab fixture, shared with test_demo_lab


def _steps(doc: dict[str, object], job: str) -> dict[str, str]:
    steps = doc["jobs"][job]["steps"]  # type: ignore[index]
    return {s["name"]: s["run"] for s in steps if "name" in s and "run" in s}


def _as_nobody(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    setpriv = shutil.which("setpriv")
    assert setpriv is not None
    return subprocess.run(
        [setpriv, *NOBODY, "bash", "-e", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def _workspace(path: Path) -> Path:
    path.mkdir(parents=True)
    path.chmod(0o777)
    (path / ".venv").symlink_to(ROOT / ".venv")
    (path / "node_modules").symlink_to(ROOT / "node_modules")
    return path


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    """A folder the unprivileged user can reach: pytest's own tmp_path sits under a 0700 folder,
    and access(2), which `command -v` and shutil.which use, ignores capabilities."""
    where = Path(tempfile.mkdtemp(prefix="harness-ci-template-"))
    where.chmod(0o755)
    yield where
    shutil.rmtree(where, ignore_errors=True)


@pytest.mark.skipif(find_allure() is None, reason="the Allure CLI: run `npm ci`")
def test_github_template_steps_as_non_root_against_the_demo_lab(lab: None, open_tmp: Path) -> None:
    doc = yaml.safe_load(TEMPLATE.read_text())
    scan, report = _steps(doc, "scan"), _steps(doc, "report")
    tmp_path = open_tmp
    bindir = tmp_path / "bin"
    bindir.mkdir()
    nmap = shutil.which("nmap")
    assert nmap is not None
    shutil.copy2(nmap, bindir / "nmap")
    env = {"PATH": f"{bindir}:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}

    # the install step's setcap line, as root (sudo is the runner's way to root)
    [setcap] = [ln for ln in scan["Install nmap and the harness"].splitlines() if "setcap" in ln]
    done = subprocess.run(
        ["bash", "-e", "-c", setcap.strip().removeprefix("sudo ")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert (
        "cap_net_raw"
        in subprocess.run(["getcap", str(bindir / "nmap")], capture_output=True, text=True).stdout
    )

    repo = _workspace(tmp_path / "scan")
    shutil.copytree(ROOT / "suites", repo / "suites")
    lab_targets(repo, foreign_ports())
    run_env = {**env, "HOME": str(repo), "HARNESS_SHARD_INDEX": "1", "HARNESS_SHARD_TOTAL": "1"}
    script = scan["Scan"].replace("${{ matrix.shard }}", "1")
    scanned = _as_nobody(script, repo, run_env)
    out = scanned.stdout + scanned.stderr
    assert scanned.returncode == 1, out[-4000:]  # the lab's planted findings, --fail-on high
    assert "could not measure: 0" in out, out[-4000:]

    # the report job: the shard's artifact merged as the template merges it, then its steps
    work = _workspace(tmp_path / "report")
    shutil.copytree(repo / "reports", work / "shards" / "allure-results-1")
    merged = _as_nobody(report["Copy the shards' results into one folder"], work, env)
    assert merged.returncode == 0, merged.stderr
    outputs = work / "github-output.txt"
    built = _as_nobody(
        report["Build the report and the SARIF"],
        work,
        {**env, "HOME": str(work), "GITHUB_OUTPUT": str(outputs), "GITHUB_WORKSPACE": str(work)},
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    codes = dict(line.split("=", 1) for line in outputs.read_text().split())
    assert codes == {"report": "0", "sarif": "0"}, built.stderr[-3000:]
    sarif_text = (work / "reports" / "harness.sarif").read_text()
    run = json.loads(sarif_text)["runs"][0]
    assert run["invocations"][0]["executionSuccessful"] is True
    # UDP was measured without root: the lab's UDP services are among the findings
    texts = " ".join(r["message"]["text"] for r in run["results"])
    assert "123/udp" in texts and "161/udp" in texts
    # the upload and the failing step are gated on those outputs
    upload = next(s for s in doc["jobs"]["report"]["steps"] if "upload-sarif" in s.get("uses", ""))
    assert upload["uses"].endswith("@v4")
    assert "steps.build.outputs.sarif == '0'" in upload["if"]
