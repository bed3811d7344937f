"""The CI templates are valid YAML and use only commands and options the harness documents."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from harness.cli import DELEGATED, build_parser

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = sorted((ROOT / "examples" / "ci").glob("*.yml"))
PYTEST_OPTIONS = {
    "--targets",
    "--shard",
    "--alluredir",
    "--junitxml",
    "--known-findings",
    "--fail-on",
    "--clean-alluredir",
    "--summary-json",
}


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_template_is_valid_and_uses_documented_commands(path: Path) -> None:
    text = path.read_text()
    doc = yaml.safe_load(text)
    assert isinstance(doc, dict) and doc
    commands = set(build_parser()._subparsers._group_actions[0].choices) | set(DELEGATED)  # type: ignore[union-attr]
    for sub in re.findall(r"bin/harness (\w+)", text):
        assert sub in commands, f"{path.name}: unknown harness command {sub!r}"
    for option in re.findall(r"pytest suites/[^\n]*(?:\n\s+--[^\n]*)*", text):
        for flag in re.findall(r"--[a-z-]+", option):
            assert flag in PYTEST_OPTIONS, f"{path.name}: undocumented option {flag}"
    assert "--fail-on" in text and "--shard auto" in text and "history.jsonl" in text
    assert "apt-get install" in text and "nmap" in text
