"""The pytest plugin, driven through pytester: ids, selection, statuses, waivers, summary, exit codes.

The probe here is a small counting probe registered for the test: what is under test is the
plugin's plumbing (planning, probe-once, statuses), not a network tool.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from plugin_lab import TARGETS, make_lab, probed

pytest_plugins = ["pytester"]


@pytest.fixture
def lab(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    return make_lab(pytester, monkeypatch)


def test_one_test_per_target_with_the_name_in_the_id(lab: pytest.Pytester) -> None:
    result = lab.runpytest("--collect-only", "-q")
    out = result.stdout.str()
    for name in ("web-01", "db-01", "down-01"):
        assert f"test_ports_unexpected[{name}]" in out
    assert probed(lab) == []  # collecting never probes


def test_statuses_summary_and_exit_code(lab: pytest.Pytester) -> None:
    result = lab.runpytest("-p", "no:cacheprovider", "--summary-json", "summary.json")
    # web-01: finding; db-01: finding waived; down-01: broken twice (never passed)
    result.assert_outcomes(passed=2, failed=1, skipped=1, errors=2)
    assert result.ret == 1
    out = result.stdout.str()
    assert "Unexpected open port on web-01 (127.0.0.1): port 8080 is open and not declared." in out
    assert "Fix: Close the port or firewall it" in out
    assert "could not measure down-01 (127.0.0.3) (timeout): host timed out after 5 s" in out
    assert "Traceback" not in out
    assert "harness [ports] scanning web-01" in out  # progress reached the terminal
    assert "harness summary" in out
    summary = json.loads((lab.path / "summary.json").read_text())
    assert summary["could_not_measure"] == 2
    assert summary["findings"] == 1
    statuses = {(r["target"], r["check"]): r["status"] for r in summary["results"]}
    assert statuses[("db-01", "ports.risky_service")] == "waived"
    assert statuses[("down-01", "ports.unexpected")] == "broken"


def test_each_host_is_probed_once_however_many_tests_read_it(lab: pytest.Pytester) -> None:
    lab.runpytest("-p", "no:cacheprovider")
    assert sorted(probed(lab)) == ["db-01", "down-01", "web-01"]


def test_k_selects_one_host_and_only_that_host_isprobed(lab: pytest.Pytester) -> None:
    result = lab.runpytest("-p", "no:cacheprovider", "-k", "web-01")
    result.assert_outcomes(passed=1, failed=1)
    assert probed(lab) == ["web-01"]


def test_k_selects_by_check_id_and_m_by_area(lab: pytest.Pytester) -> None:
    result = lab.runpytest("-p", "no:cacheprovider", "-k", "ports.risky_service and db-01")
    result.assert_outcomes(skipped=1)
    result = lab.runpytest("-p", "no:cacheprovider", "-m", "tls")
    result.assert_outcomes()
    assert result.ret == 5  # nothing selected is not a pass


def test_waivers_active_and_expired(lab: pytest.Pytester) -> None:
    result = lab.runpytest("-p", "no:cacheprovider", "-rs", "-k", "db-01")
    result.stdout.fnmatch_lines(
        ["*waived until 2999-01-01 by dba-team: legacy database, migration planned*"]
    )
    # the expired waiver cannot hide anything: down-01 is broken, and an expired waiver on a
    # finding turns back into a failure (checked on web-01 below)
    lab.makefile(".yaml", targets=TARGETS.replace("target: down-01", "target: web-01"))
    result = lab.runpytest("-p", "no:cacheprovider", "-k", "web-01 and unexpected")
    result.assert_outcomes(failed=1)
    assert "waiver for this finding expired on 2001-01-01" in result.stdout.str()
    # the message leads with it, and the run's summary counts it (issue 24)
    result.stdout.fnmatch_lines(["*The waiver for this finding expired on 2001-01-01*"])
    result.stdout.fnmatch_lines(["findings: *; expired waivers: 1"])


def test_allure_labels_on_every_result(lab: pytest.Pytester) -> None:
    lab.runpytest("-p", "no:cacheprovider", "--alluredir", "results")
    results = [json.loads(p.read_text()) for p in (lab.path / "results").glob("*-result.json")]
    assert len(results) == 6
    for res in results:
        labels = {lb["name"]: lb["value"] for lb in res["labels"]}
        assert labels["target"] in {"web-01", "db-01", "down-01"}
        assert labels["check"] in {"ports.unexpected", "ports.risky_service"}
        assert labels["epic"] == "ports"
        assert "severity" in labels
    by_name = {r["name"]: r for r in results}
    assert by_name["ports.unexpected · down-01"]["status"] == "broken"
    assert by_name["ports.unexpected · web-01"]["status"] == "failed"
    risky = by_name["ports.risky_service · web-01"]
    assert risky["status"] == "passed"
    db = by_name["ports.risky_service · db-01"]["labels"]
    sev = [lb["value"] for lb in db if lb["name"] == "severity"]
    assert sev == ["critical"]  # the finding's own severity replaced the default, once
    # and the catalogue's word reads verbatim beside Allure's level, once
    assert [lb["value"] for lb in db if lb["name"] == "risk"] == ["critical"]
    assert [lb["value"] for lb in db if lb["value"].startswith("severity: ")] == [
        "severity: critical"
    ]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace("    tags: [prod]", "    tagz: [prod]"), "unknown key 'tagz'"),
        (
            lambda t: t.replace("host: 127.0.0.2", "host: '-iL /etc/passwd'"),
            "must not start with '-'",
        ),
        (lambda t: t.replace("name: db-01", "name: web-01"), "duplicate target name 'web-01'"),
        (lambda t: t.replace("    host: 127.0.0.2\n", ""), "required key is missing"),
        (lambda t: t.replace('scan: "5432"', "scan: 5432x"), "expected 'top-N', 'all'"),
        (lambda t: "version: 1\ntargets: [\n", "broken YAML"),
    ],
)
def test_bad_targets_file_is_a_usage_error(lab: pytest.Pytester, edit, expected: str) -> None:  # type: ignore[no-untyped-def]
    lab.makefile(".yaml", targets=edit(TARGETS))
    result = lab.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == 4
    assert expected in result.stderr.str()
    assert "targets.yaml" in result.stderr.str()
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert probed(lab) == []


def test_missing_targets_file_via_option(lab: pytest.Pytester) -> None:
    result = lab.runpytest_subprocess("-p", "no:cacheprovider", "--targets", "missing.yaml")
    assert result.ret == 4
    assert "missing.yaml: invalid targets file: file not found" in result.stderr.str()


def test_plugin_is_dormant_for_other_test_suites(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_other="def test_ok():\n    assert True\n")
    result = pytester.runpytest("-p", "no:cacheprovider")  # no targets.yaml here at all
    result.assert_outcomes(passed=1)


def test_ini_key_sets_the_targets_file(lab: pytest.Pytester) -> None:
    (lab.path / "inv").mkdir()
    (lab.path / "targets.yaml").rename(lab.path / "inv" / "hosts.yaml")
    lab.makeini("[pytest]\nharness_targets = inv/hosts.yaml\n")
    result = lab.runpytest("-p", "no:cacheprovider", "-k", "web-01")
    result.assert_outcomes(passed=1, failed=1)


def test_harness_validate_cli(tmp_path: Path) -> None:
    import subprocess
    import sys

    good = tmp_path / "t.yaml"
    good.write_text(TARGETS)
    out = subprocess.run(
        [sys.executable, "-m", "harness.cli", "validate", str(good)], capture_output=True, text=True
    )
    assert out.returncode == 0
    assert out.stdout.startswith("OK ")
    assert "3 targets" in out.stdout
    good.write_text(textwrap.dedent(TARGETS).replace("tags:", "tagz:"))
    out = subprocess.run(
        [sys.executable, "-m", "harness.cli", "validate", str(good)], capture_output=True, text=True
    )
    assert out.returncode == 4
    assert "unknown key 'tagz'" in out.stderr
    assert "Traceback" not in out.stderr


def _outcomes(results: Path) -> set[tuple[str, str]]:
    out = set()
    for path in results.glob("*-result.json"):
        data = json.loads(path.read_text())
        out.add((data["name"], data["status"]))
    return out


def test_shards_partition_the_run_and_merge_to_the_unsharded_results(lab: pytest.Pytester) -> None:
    lab.runpytest("-p", "no:cacheprovider", "--alluredir", "all")
    parts = []
    for k in (1, 2):
        lab.runpytest("-p", "no:cacheprovider", "--alluredir", f"shard{k}", "--shard", f"{k}/2")
        parts.append(_outcomes(lab.path / f"shard{k}"))
    assert parts[0] and parts[1]
    assert not parts[0] & parts[1]
    assert parts[0] | parts[1] == _outcomes(lab.path / "all")


def test_a_shard_never_collects_the_other_shards_tests(lab: pytest.Pytester) -> None:
    # four shards of three targets: a shard with no target at all must not show an
    # "empty parameter set" skip per suite test either
    seen = []
    for k in (1, 2, 3, 4):
        result = lab.runpytest("--collect-only", "-q", "--shard", f"{k}/4")
        out = result.stdout.str()
        assert "empty parameter set" not in out and "NOTSET" not in out
        seen.append({line for line in out.splitlines() if "::" in line})
    assert sum(len(s) for s in seen) == 6 and min(len(s) for s in seen) == 0  # 2 checks x 3
    everything = lab.runpytest("--collect-only", "-q").stdout.str()
    assert set().union(*seen) == {line for line in everything.splitlines() if "::" in line}


def test_shard_auto_reads_gitlab_variables(
    lab: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI_NODE_INDEX", "3")
    monkeypatch.setenv("CI_NODE_TOTAL", "3")
    result = lab.runpytest("-p", "no:cacheprovider", "--shard", "auto", "--collect-only", "-q")
    selected = [line for line in result.stdout.lines if "::" in line]
    assert len({line.split("[")[1] for line in selected}) == 1  # one target of three


def test_a_shard_without_targets_is_a_finished_empty_run(lab: pytest.Pytester) -> None:
    # by the names' hashes, shards 1 and 2 of 4 hold none of the lab's three targets
    result = lab.runpytest("-p", "no:cacheprovider", "--shard", "1/4", "--alluredir", "empty")
    assert result.ret == 0 and "shard 1/4 has no target" in result.stdout.str()
    [manifest] = (lab.path / "empty").glob("harness-run-*.json")
    data = json.loads(manifest.read_text())
    assert data["finished"] and data["expected"] == [] and data["shard"] == "1/4"


@pytest.mark.parametrize("spec", ["0/2", "3/2", "x", "1-2", "auto"])
def test_bad_shard_is_a_usage_error(
    lab: pytest.Pytester, spec: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("CI_NODE_INDEX", "JOB_COMPLETION_INDEX", "HARNESS_SHARD_INDEX"):
        monkeypatch.delenv(var, raising=False)
    result = lab.runpytest_subprocess("-p", "no:cacheprovider", "--shard", spec)
    assert result.ret == 4
    assert "--shard" in result.stderr.str()


def test_xdist_probes_each_target_once_and_matches_a_serial_run(lab: pytest.Pytester) -> None:
    lab.runpytest_subprocess("-p", "no:cacheprovider", "--alluredir", "serial")
    (lab.path / "probe.log").unlink()
    result = lab.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--alluredir", "xdist")
    assert sorted(probed(lab)) == ["db-01", "down-01", "web-01"]  # once each, across workers
    assert _outcomes(lab.path / "xdist") == _outcomes(lab.path / "serial")
    assert "harness summary" in result.stdout.str()  # the controller still prints the table
    assert result.ret == 1


def test_a_waiver_that_matches_no_finding_is_a_warning(lab: pytest.Pytester) -> None:
    lab.makefile(
        ".yaml",
        targets=TARGETS
        + "  - check: ports.unexpected\n    target: db-01\n    reason: stale\n    expires: 2999-01-01\n",
    )
    result = lab.runpytest("-p", "no:cacheprovider", "-k", "db-01")
    assert (
        "the waiver for ports.unexpected on db-01 matched no finding; remove it"
        in result.stdout.str()
    )
    assert "risky_service on db-01 matched no finding" not in result.stdout.str()


def test_many_failures_get_one_line_each_unless_tb_is_chosen(
    lab: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    import harness.session.plugin

    # pytest's full sections cost failures x reports; past the limit they become one line each
    monkeypatch.setattr(harness.session.plugin, "FULL_SECTIONS_UP_TO", 1)
    result = lab.runpytest("-p", "no:cacheprovider")
    out = result.stdout.str()
    assert "harness: 3 failures, over 1: one line each" in out
    assert "_ test_ports_unexpected[web-01] _" not in out  # no full section header
    assert "Unexpected open" in out  # the finding is still said, on its line
    assert "harness summary" in out.split("short test summary info")[-1]  # the table comes last

    chosen = lab.runpytest("-p", "no:cacheprovider", "--tb=short")
    assert "one line each" not in chosen.stdout.str()
    assert "_ test_ports_unexpected[web-01] _" in chosen.stdout.str()
