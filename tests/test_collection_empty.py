"""An area no target declares makes no result: no `[NOTSET] skipped: got empty parameter set`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_no_placeholder_result_for_an_area_without_subjects(tmp_path: Path) -> None:
    targets = tmp_path / "targets.yaml"
    targets.write_text(
        "version: 1\ntargets:\n  - name: web\n    host: 127.0.0.1\n    tls:\n      - port: 443\n"
    )
    out = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "suites/", "--collect-only", "-q"),
            *("-p", "no:cacheprovider", "--targets", str(targets)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    collected = [line for line in out.stdout.splitlines() if "::" in line]
    assert collected and all("test_tls.py::" in line for line in collected), collected
    assert "NOTSET" not in out.stdout and "empty parameter set" not in out.stdout
