"""Fleet scale without timing: the report builds and opens at 10,000 results, history stays
bounded, and `harness sarif` does work linear in the results (counted, not timed).

The seed is what the plugin really writes (a pytester run of tests/plugin_lab.py, run twice with
--known-findings so findings carry new/known), multiplied by bench/multiply.py into distinct
targets. The 40,000-result figures live in bench/ (bench/report_scale.py), not here.
"""

from __future__ import annotations

import cProfile
import json
import pstats
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from browser import BASE_FLAGS
from plugin_lab import make_lab

from harness.output import history as hist
from harness.output import report_groups, sarif
from harness.output.report import Job, batches, find_allure

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from multiply import multiply

pytest_plugins = ["pytester"]
needs_allure = pytest.mark.skipif(find_allure() is None, reason="Allure CLI missing: run `npm ci`")
CHROMIUM_FLAGS = BASE_FLAGS


@pytest.fixture
def lab_seed(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    lab = make_lab(pytester, monkeypatch)
    args = ["-p", "no:cacheprovider", "--known-findings", "known.json", "--alluredir"]
    lab.runpytest(*args, "first")
    lab.runpytest(*args, "results")  # the second run marks its findings known
    return lab.path / "results"


def _harness(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=1800,
    )


def test_multiply_makes_distinct_targets(lab_seed: Path, tmp_path: Path) -> None:
    out = tmp_path / "big"
    copies = multiply(lab_seed, out, 10_000)
    index = report_groups.read(out)
    assert len(index) == 10_000 and copies == 10_000 // 6 + 1
    assert len({r.uuid for r in index}) == len({r.history_id for r in index}) == 10_000
    # full copies hold all 3 seed targets; the last, partial copy holds 1 to 3 of them,
    # depending on the order the seed's result files are listed in
    assert 3 * (copies - 1) < len({r.target for r in index}) <= 3 * copies
    # every attachment a result names is there, and every copy keeps the seed's statuses
    assert all((out / a).is_file() for r in index for a in r.attachments)
    seed_index = report_groups.read(lab_seed)
    by_check = {(r.check, r.target): r.status for r in seed_index}
    for r in index[:600]:
        original = r.target.rsplit("-k", 1)[0]
        assert r.status == by_check[(r.check, original)]


def test_groups_hold_whole_targets_and_are_stable(lab_seed: Path, tmp_path: Path) -> None:
    multiply(lab_seed, tmp_path / "big", 10_000)
    index = report_groups.read(tmp_path / "big")
    groups = report_groups.split(index, "target", 2000)
    assert len(groups) == 5  # 10,000 / 2,000
    seen: dict[str, str] = {}
    for g in groups:
        for r in g.results:
            assert seen.setdefault(r.target, g.key) == g.key  # a target is in one group only
    assert sum(len(g.results) for g in groups) == 10_000
    assert max(len(g.results) for g in groups) < 2 * 2000
    # the same targets land in the same groups when the run is read again
    again = report_groups.split(report_groups.read(tmp_path / "big"), "target", 2000)
    assert [(g.key, g.targets) for g in again] == [(g.key, g.targets) for g in groups]
    by_tag = report_groups.split(index, "tag", 2000)
    assert {g.key.rsplit("-", 3)[0] if "-of-" in g.key else g.key for g in by_tag} == {
        "tag-prod",
        "tag-untagged",
    }


@needs_allure
def test_split_report_at_10000_results(lab_seed: Path, tmp_path: Path) -> None:
    big = tmp_path / "big"
    multiply(lab_seed, big, 10_000)
    out = _harness(
        "report",
        "--results",
        str(big),
        "--output",
        str(tmp_path / "report"),
        "--history",
        str(tmp_path / "history.jsonl"),
        "--single-file",
        str(tmp_path / "one.html"),
        cwd=tmp_path,
    )
    # built, and said to be incomplete: multiplied results are no run, they have no manifest
    assert out.returncode == 1 and "no run manifest" in out.stderr, out.stderr
    assert "overview: " in out.stdout
    # one file of 10,000 results is above the limit: skipped, and said so
    assert "single-file report skipped" in out.stderr and not (tmp_path / "one.html").exists()
    report = tmp_path / "report"
    groups = sorted(p for p in report.iterdir() if p.is_dir())
    assert len(groups) == 5 and all((g / "index.html").is_file() for g in groups)
    page = (report / "index.html").read_text()
    data = json.loads(
        re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S)[1]
    )  # type: ignore[index]
    # 1,666 whole copies of the 3 seed targets, and a last copy cut short at 10,000 results
    assert len(data["rows"]) == 10_000 and 3 * 1666 < len(data["targets"]) <= 3 * 1667
    # waivers, could-not-measure and findings new/known survive the split
    assert "Waived" in data["cats"] and "Security findings" in data["cats"]
    known = sum(1 for r in data["rows"] if r[2] == 1 and r[3] == 2)  # failed, known
    assert known >= 1666 and f"<b>0</b> new, <b>{known}</b> known" in page
    # each group report has exactly its own results (Allure wrote one file per result)
    sizes = [sum(1 for _ in (g / "data" / "test-results").glob("*.json")) for g in groups]
    assert sum(sizes) == 10_000
    # and every piece of evidence, the probe's scan.json included, is in it:
    # Allure marks a link whose file it did not find "missed"
    for g in groups:
        shown = [json.loads(p.read_text()) for p in (g / "data" / "test-results").glob("*")]
        links = [link for r in shown for link in _links(r)]
        assert links and all(not link.get("missed") for link in links)
        assert any(link["name"] == "scan.json" for link in links)
        assert all((g / "data" / "attachments" / f"{x['id']}{x['ext']}").is_file() for x in links)
    # the history has one compact line: a status per id, no names, labels or traces
    line = (tmp_path / "history.jsonl").read_text().splitlines()
    assert len(line) == 1 and len(line[0]) < 25 * 10_000 and '"labels"' not in line[0]

    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is required (scripts/setup.sh installs it)"
    target = data["targets"][1234]
    dom = subprocess.run(
        [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            (report / "index.html").as_uri() + f"#q={target}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout
    hits = re.search(r'data-search-hits="(\d+)"', dom)
    assert hits, dom[:2000]
    expected = sum(1 for r in data["rows"] if target in data["targets"][r[0]])
    assert int(hits[1]) == expected >= 1
    assert dom.count(f"<td>{target}</td>") == expected


def _links(node: object) -> list[dict[str, object]]:
    """Every attachment link in an Allure test-result file, in steps, set-ups and tear-downs."""
    if isinstance(node, dict):
        own = [node["link"]] if isinstance(node.get("link"), dict) else []
        return own + [x for v in node.values() for x in _links(v)]
    if isinstance(node, list):
        return [x for v in node for x in _links(v)]
    return []


def test_group_folders_hold_every_attachment(lab_seed: Path, tmp_path: Path) -> None:
    # evidence a fixture attached lives in its container, not in the result (the plugin wrote
    # the scanner's raw output so before its probe steps): add one such container
    first = next(lab_seed.glob("*-result.json"))
    uuid = json.loads(first.read_text())["uuid"]
    (lab_seed / "ev-attachment.json").write_text('{"raw": "scan"}')
    fixture = {"name": "measurement", "status": "passed"}
    fixture["attachments"] = [{"name": "raw scan", "source": "ev-attachment.json"}]
    container = {"uuid": "c1", "children": [uuid], "befores": [fixture]}
    (lab_seed / "c1-container.json").write_text(json.dumps(container))
    index = report_groups.read(lab_seed)
    containers = report_groups.containers(lab_seed)
    [group] = report_groups.split(index, "target", 2000)
    report_groups.materialise(lab_seed, group, tmp_path / "g", containers)
    named = {a for r in index for a in r.attachments} | {
        a for cs in containers.values() for c in cs for a in c.attachments
    }
    assert "ev-attachment.json" in named and len(named) > 1
    assert all((tmp_path / "g" / a).is_file() for a in named)
    assert (tmp_path / "g" / "c1-container.json").is_file()


def _job(size: int) -> Job:
    return Job(Path(f"r{size}"), Path(f"o{size}"), None, f"g{size}", size)


def test_group_reports_are_shared_among_at_most_jobs_processes() -> None:
    jobs = [_job(n) for n in (2100, 1900, 2000, 2300, 1700, 2050, 1950)]
    for workers in (1, 2, 3):
        lists = batches(jobs, workers)
        assert len(lists) == workers
        assert sorted(j.size for b in lists for j in b) == sorted(j.size for j in jobs)
    two = [sum(j.size for j in b) for b in batches(jobs, 2)]
    assert max(two) - min(two) <= 2300  # no list waits on more than one extra report
    assert len(batches(jobs[:1], 2)) == 1  # no idle process for a single report
    assert len(batches(jobs, 0)) == 1


def test_history_retention_keeps_the_newest_runs(tmp_path: Path) -> None:
    statuses = {f"{i:032x}": "passed" for i in range(10_000)}
    path = tmp_path / "history.jsonl"
    names = []
    for night in range(35):
        statuses[f"{night:032x}"] = "failed"
        runs = hist.load(path, hist.DEFAULT_LIMIT - 1)
        run = hist.new_run(f"night {night}", statuses, hist.count(statuses.values()))
        names.append(run.uuid)
        hist.save(path, [*runs, run], hist.DEFAULT_LIMIT)
    kept = hist.load(path, 1000)
    assert [r.uuid for r in kept] == names[-30:]  # the oldest five are gone
    assert [r.summary["failed"] for r in kept] == list(range(6, 36))  # trend points intact
    # bounded: 30 runs of 10,000 results, about 22 bytes per result and run
    assert path.stat().st_size < 30 * 10_000 * 25
    # what a report hands Allure: its own ids, with the status of each
    hist.write_allure(tmp_path / "a.jsonl", kept, [f"{3:032x}", "absent"])
    point = json.loads((tmp_path / "a.jsonl").read_text().splitlines()[0])
    assert point["testResults"] == {f"{3:032x}": {"historyId": f"{3:032x}", "status": "failed"}}
    assert hist.transitions(kept[-2], statuses) == {
        "new": 0,
        "fixed": 0,
        "regressed": 1,  # night 34's id
        "malfunctioned": 0,
    }


def test_history_reads_a_file_allure_wrote(tmp_path: Path) -> None:
    line = {
        "uuid": "u1",
        "name": "r",
        "timestamp": 5,
        "knownTestCaseIds": ["x"],
        "testResults": {"h1": {"status": "failed", "labels": [], "trace": "..."}},
        "metrics": {},
        "url": "",
    }
    path = tmp_path / "history.jsonl"
    path.write_text(json.dumps(line) + "\nnot json\n")
    [run] = hist.load(path)
    assert run.statuses == {hist.key("h1"): "failed"} and run.summary["failed"] == 1


@needs_allure
def test_history_limit_and_trend_through_the_cli(lab_seed: Path, tmp_path: Path) -> None:
    history = tmp_path / "history.jsonl"
    uuids = []
    for by in ("none", "target", "target"):
        out = _harness(
            "report",
            "--results",
            str(lab_seed),
            "--output",
            str(tmp_path / "report"),
            "--history",
            str(history),
            "--history-limit",
            "2",
            "--report-by",
            by,
            cwd=tmp_path,
        )
        assert out.returncode == 1, out.stderr  # built; incomplete, as down-01 was not measured
        uuids.append(json.loads(history.read_text().splitlines()[-1])["uuid"])
    lines = history.read_text().splitlines()
    assert [json.loads(x)["uuid"] for x in lines] == uuids[1:]
    # the overview draws a point per kept run, and the group report got the history from us
    page = (tmp_path / "report" / "index.html").read_text()
    assert "trend over 1 runs" in page  # the kept run before this one
    [group] = [p for p in (tmp_path / "report").iterdir() if p.is_dir()]
    assert list((group / "data" / "history").glob("*.json"))
    # Allure matched our lines to its results: nothing is "new", each has its earlier run
    shown = [json.loads(p.read_text()) for p in (group / "data" / "test-results").glob("*.json")]
    assert len(shown) == 6
    assert all(r.get("transition") != "new" and len(r["history"]) == 1 for r in shown)


def test_bad_limits_are_a_clear_error(lab_seed: Path, tmp_path: Path) -> None:
    out = _harness("report", "--results", str(lab_seed), "--history-limit", "0", cwd=tmp_path)
    assert out.returncode == 4 and "--history-limit" in out.stderr
    # a split report never wipes a folder that is not a report
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "notes.txt").write_text("keep me")
    args = ["--output", "precious", "--report-by", "target", "--history", "none"]
    out = _harness("report", "--results", str(lab_seed), *args, cwd=tmp_path)
    assert out.returncode == 4 and "not empty" in out.stderr
    assert (tmp_path / "precious" / "notes.txt").read_text() == "keep me"


def _calls(results: Path) -> int:
    profile = cProfile.Profile()
    profile.enable()
    doc = sarif.convert(results)
    profile.disable()
    emitted = [r for r in doc["runs"][0]["results"] if "suppressions" not in r]  # not waived
    assert len(emitted) == sum(1 for r in report_groups.read(results) if r.status == "failed")
    return int(pstats.Stats(profile).total_calls)  # type: ignore[attr-defined]


def test_sarif_work_is_linear_in_the_results(lab_seed: Path, tmp_path: Path) -> None:
    multiply(lab_seed, tmp_path / "small", 1_000)
    multiply(lab_seed, tmp_path / "big", 10_000)
    small, big = _calls(tmp_path / "small"), _calls(tmp_path / "big")
    # ten times the results: about ten times the function calls. Sorting the file names adds a
    # log factor (13x at most for these sizes); anything quadratic would be near 100x.
    assert big < 13 * small
    assert big > 9 * small  # and the count does see the results
