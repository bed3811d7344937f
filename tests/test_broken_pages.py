"""A result that could not be measured still reads as a page: what was checked, why nothing
could be judged, what to change, and the probe's record attached; its message is a sentence,
not a Python class name. A real run of the suites against closed loopback ports."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once it is closed


def _attachments(node: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(node.get("attachments", []))
    for step in node.get("steps", []):
        found += _attachments(step)
    return found


def test_broken_results_say_why_and_what_to_do(tmp_path: Path) -> None:
    tls, ftp = _closed_port(), _closed_port()
    targets = tmp_path / "targets.yaml"
    targets.write_text(
        "version: 1\ndefaults:\n  timeout: 2\ntargets:\n  - name: gone\n    host: 127.0.0.1\n"
        f"    tls:\n      - port: {tls}\n    logins:\n      - kind: ftp\n        port: {ftp}\n"
    )
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "suites/", "--targets", str(targets)),
            *("-p", "no:cacheprovider", "--alluredir", str(tmp_path / "allure"), "-q"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    pages = [json.loads(p.read_text()) for p in (tmp_path / "allure").glob("*-result.json")]
    broken = [p for p in pages if p["status"] == "broken"]
    assert len(broken) >= 20, proc.stdout[-3000:]
    for page in broken:
        message = page["statusDetails"]["message"]
        assert message.startswith("could not measure gone"), message
        assert not re.match(r"(?:[A-Za-z_]\w*\.)+[A-Z]\w*:", message)
        assert not page["statusDetails"].get("trace"), page["name"]  # the message, said once
        text = page["description"]
        assert text.startswith("**Could not measure: "), text
        assert "Nothing could be judged: could not measure gone" in text
        assert "### How to fix\nFirst make it measurable" in text
        assert _attachments(page), f"{page['name']}: no record attached"
    tls_page = next(p for p in broken if p["name"].startswith("tls.protocols"))
    (record,) = [a for a in _attachments(tls_page) if a["name"] == "probe failure"]
    data = json.loads((tmp_path / "allure" / record["source"]).read_text())
    assert data["could_not_measure"] == "refused" and str(tls) in data["where"]
