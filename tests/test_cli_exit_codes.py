"""Every `harness` subcommand exits with the README's codes: a usage error is 4 (argparse's own
2 means "interrupted" in that table), --help is 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import DELEGATED

USAGE = 4


def _harness(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("no-such-command",),
        ("validate", "--no-such-option"),
        ("checks", "--area", "nowhere"),
        ("lab", "sideways"),
        *((name, "--no-such-option") for name in DELEGATED),
    ],
    ids=lambda a: " ".join(a) or "nothing",
)
def test_a_usage_error_exits_4_with_argparses_message(
    args: tuple[str, ...], tmp_path: Path
) -> None:
    out = _harness(*args, cwd=tmp_path)
    assert out.returncode == USAGE, (out.returncode, out.stderr)
    assert "usage:" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize("name", ["validate", *DELEGATED])
def test_help_exits_0(name: str, tmp_path: Path) -> None:
    out = _harness(name, "--help", cwd=tmp_path)
    assert out.returncode == 0 and "usage:" in out.stdout


def test_bad_input_files_are_usage_errors(tmp_path: Path) -> None:
    assert _harness("sarif", "--results", "missing", cwd=tmp_path).returncode == USAGE
    assert _harness("report", "--results", "missing", cwd=tmp_path).returncode == USAGE
    (tmp_path / "targets.yaml").write_text("version: 1\ntargets: []\n")
    assert _harness("validate", "targets.yaml", cwd=tmp_path).returncode == USAGE
