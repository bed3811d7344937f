"""The catalogue's date and age where a reader meets them: environment.properties and the run
summary. The clock is injected, so both sides of the 90-day line are shown on any day."""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path

import yaml

from harness.output import allure_files
from harness.session.summary import Record, RunSummary

# read straight from the shipped file, not through the code under test
SNAPSHOT = str(
    yaml.safe_load(resources.files("harness.data").joinpath("software_catalogue.yaml").read_text())[
        "snapshot"
    ]
)
FRESH = dt.date.fromisoformat(SNAPSHOT) + dt.timedelta(days=10)
STALE = dt.date.fromisoformat(SNAPSHOT) + dt.timedelta(days=100)
STARTED = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def test_environment_properties_give_the_snapshot_date_and_never_unknown(tmp_path: Path) -> None:
    targets = tmp_path / "targets.yaml"
    targets.write_text("version: 1\ntargets: []\n")
    props = allure_files.environment(targets, STARTED, FRESH)
    assert props["version.catalogue.date"] == SNAPSHOT == "2026-08-22"
    assert props["version.catalogue.age.days"] == "10"
    assert "version.catalogue.note" not in props
    assert not [k for k, v in props.items() if v == "unknown"], props


def test_environment_properties_say_when_the_catalogue_is_old(tmp_path: Path) -> None:
    props = allure_files.environment(tmp_path / "targets.yaml", STARTED, STALE)
    assert props["version.catalogue.age.days"] == "100"
    note = props["version.catalogue.note"]
    assert "100 days old" in note and "harness catalogue refresh" in note


def _record(area: str) -> Record:
    return Record("n", "web", "web", area, f"{area}.x", "low", "passed")


def test_the_run_summary_says_when_banners_were_judged_against_an_old_catalogue() -> None:
    summary = RunSummary(today=STALE)
    summary.add(_record("banners"))
    notes = [line for line in summary.render() if line.startswith("note: ")]
    assert len(notes) == 1 and "harness catalogue refresh" in notes[0]
    assert summary.as_dict()["notes"] == [notes[0].removeprefix("note: ")]
    fresh = RunSummary(today=FRESH)
    fresh.add(_record("banners"))
    assert not any(line.startswith("note: ") for line in fresh.render())
    # a run without banner results judged nothing against the catalogue
    tls_only = RunSummary(today=STALE)
    tls_only.add(_record("tls"))
    assert not any(line.startswith("note: ") for line in tls_only.render())
