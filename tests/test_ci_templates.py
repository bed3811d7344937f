"""The CI templates are valid YAML and use only commands and options the harness documents."""

from __future__ import annotations

import re
import subprocess
import sys
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


SCHEMAS = {"github-actions.yml": "vendor.github-workflows", "gitlab-ci.yml": "vendor.gitlab-ci"}


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_template_passes_its_ci_engine_schema(path: Path) -> None:
    # check-jsonschema ships GitHub's workflow schema and GitLab's CI schema, so this runs offline
    exe = Path(sys.executable).with_name("check-jsonschema")
    assert path.name in SCHEMAS, f"{path.name}: name the schema it must pass in SCHEMAS"
    proc = subprocess.run(
        [str(exe), "--builtin-schema", SCHEMAS[path.name], str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    # the validator must be able to fail: a job without runs-on is not a workflow
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  scan:\n    steps:\n      - run: echo\n")
    exe = Path(sys.executable).with_name("check-jsonschema")
    proc = subprocess.run(
        [str(exe), "--builtin-schema", "vendor.github-workflows", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
