"""docs/checks.md is generated from the catalogue, and `harness checks --explain ID` prints one
check's entry: this fails when the file and the catalogue (or the registry) differ."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.checks import catalogue
from harness.output import checks_doc

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "checks.md"


def test_the_checks_reference_is_the_catalogue() -> None:
    assert DOC.read_text(encoding="utf-8") == checks_doc.markdown(), (
        "docs/checks.md differs from the catalogue. Fix: run "
        "`harness checks --markdown > docs/checks.md` and commit it"
    )


@pytest.mark.parametrize("check_id", list(catalogue()))
def test_every_entry_says_all_a_reader_needs(check_id: str) -> None:
    text = checks_doc.explain(check_id)
    assert text is not None
    check = catalogue()[check_id]
    for part in (
        f"`{check_id}`: {check.title}",
        f"**Severity:** {check.severity.value}",
        f"**What it means.** {check.description}",
        "**How it is measured.** ",
        f"**How to fix.** {check.remediation}",
        "**What makes it broken (could not measure).** ",
        "**References.** [",
        "**Decided by:** `harness.policy.",
    ):
        assert part in text, (check_id, part)


def test_explain_through_the_command_line() -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "harness.cli", "checks", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )

    out = cli("--explain", "tls.protocols")
    assert out.returncode == 0 and out.stdout.startswith("# `tls.protocols`: ")
    assert "[RFC 8996](https://datatracker.ietf.org/doc/html/rfc8996)" in out.stdout
    bad = cli("--explain", "tls.protocol")
    assert bad.returncode == 2 and "unknown check id 'tls.protocol'" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert cli("--markdown").stdout == DOC.read_text(encoding="utf-8")


def test_report_help_speaks_to_users_not_of_internals() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "harness.cli", "report", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0 and "--alluredir" in out.stdout
    assert "SPLIT_ABOVE" not in out.stdout and "harness.output" not in out.stdout
