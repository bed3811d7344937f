"""The run manifest in the results folder (harness.manifest): begun once the run's subjects are
known, ended with what became of each. A folder that already holds a run is refused unless
--append says this run joins it (`--clean-alluredir` empties it first, as before).

The controller alone writes it. The hooks that call this are in harness.session.run_record."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest

from harness import manifest
from harness.manifest import KnownFinding, Manifest
from harness.output import allure_files
from harness.session import shard
from harness.session.state import STATE, SUMMARY, State
from harness.session.subjects import AREAS, subjects

MANIFEST = pytest.StashKey[Manifest]()
BEGIN_ERROR = pytest.StashKey[OSError]()


def alluredir(config: pytest.Config) -> Path | None:
    where = getattr(config.option, "allure_report_dir", None)
    return Path(where) if where else None


def subject_map(state: State) -> dict[str, Any]:
    inv = state.inventory
    assert inv is not None
    return {job.key: job for area in AREAS for job in subjects(inv, area)}


def describe(state: State, record: Manifest) -> None:
    """Target, declaring line and last known findings of each expected subject."""
    from harness.inventory import declared_line

    inv = state.inventory
    assert inv is not None
    jobs = subject_map(state)
    for key in record.expected:
        job = jobs.get(key)
        if job is None:
            continue
        record.targets[key] = job.target.name
        line = declared_line(inv, job.target, job.endpoint)
        if line:
            record.lines[key] = line
    wanted = set(record.expected)
    record.known = [
        KnownFinding(
            fid,
            k.check,
            k.subject,
            k.first_seen.isoformat(),
            k.last_seen.isoformat() if k.last_seen else None,
        )
        for fid, k in sorted((state.known or {}).items())
        if k.subject in wanted
    ]


def begin(config: pytest.Config, keys: list[str]) -> None:
    """Refuse a folder that holds another run (unless --append), then write 'not finished'."""
    where = alluredir(config)
    state = config.stash[STATE]
    if where is None or MANIFEST in config.stash or state.inventory is None:
        return
    earlier = manifest.earlier_run(where)
    if earlier is not None and not config.getoption("harness_append"):
        raise pytest.UsageError(
            f"--alluredir {where} already holds results of another run ({earlier}); two runs "
            "in one folder would read as one. Fix: add --clean-alluredir to replace them, "
            "--append to add this run to them, or give another folder."
        )
    spec = config.getoption("harness_shard")
    record = Manifest(
        run_id=uuid.uuid4().hex[:12],
        started=state.started.isoformat(timespec="seconds"),
        targets_file=str(state.targets_path.resolve()),
        targets_sha256=manifest.sha256_of(state.targets_path),
        shard=shard.parse(spec) if spec else None,
        expected=list(dict.fromkeys(keys)),
    )
    describe(state, record)
    config.stash[MANIFEST] = record
    try:
        write(config, record)
        allure_files.write(where, state.targets_path, state.started, status_of(config))
    except OSError as exc:  # the run goes on; its end fails loudly, as any lost result file
        config.stash[BEGIN_ERROR] = OSError(
            f"the run manifest could not be written to {where} ({exc}); consumers will find "
            "no record of this run. Fix the folder (space, permissions), then rerun."
        )


def write(config: pytest.Config, record: Manifest) -> None:
    where = alluredir(config)
    if where is not None:
        manifest.write(where, record)


def end(session: pytest.Session, exitstatus: int) -> OSError | None:
    """Record what became of each subject; the error, if the manifest could not be written."""
    config = session.config
    record = config.stash.get(MANIFEST, None)
    if record is None:
        return None
    summary = config.stash[SUMMARY]
    by_key: dict[str, list[Any]] = {}
    for r in summary.records:
        by_key.setdefault(r.key, []).append(r)
    expected = set(record.expected)  # under xdist, a subject may show only in the records
    record.expected += [k for k in by_key if k not in expected]
    interrupted = exitstatus == pytest.ExitCode.INTERRUPTED or bool(session.shouldstop)
    record.measured, record.unmeasured = [], {}
    for key in record.expected:
        results = by_key.get(key, [])
        broken = [r for r in results if r.status == "broken"]
        if broken:
            by_reason: dict[str, list[str]] = {}
            for r in broken:  # a dead endpoint is one reason, not one per check
                by_reason.setdefault(r.reason or "no reason given", []).append(r.check)
            record.unmeasured[key] = "; ".join(
                f"{reason} [{checks[0] if len(checks) == 1 else f'{len(checks)} checks'}]"
                for reason, checks in by_reason.items()
            )
        elif not results:
            record.unmeasured[key] = (
                "not measured: the run stopped before it" if interrupted else "no result"
            )
        else:
            record.measured.append(key)
    judged = {(r.check, r.key) for r in summary.records if r.status != "broken"}
    record.carried_forward = [
        k.id
        for k in record.known
        if k.subject in record.unmeasured and (k.check, k.subject) not in judged
    ]
    for r in summary.records:  # discovered subjects are in no targets file's list
        record.targets.setdefault(r.key, r.target)
    record.coverage = {t: [r.to_dict() for r in rows] for t, rows in summary.coverage.items()}
    record.interrupted = interrupted
    record.exit_status = int(session.exitstatus)
    record.finished = True
    record.ended = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    try:
        write(config, record)
    except OSError as exc:
        return exc
    return None


def status_of(config: pytest.Config) -> str | None:
    """The run's status for environment.properties, once it has a manifest."""
    record = config.stash.get(MANIFEST, None)
    if record is None:
        return None
    if not record.finished:
        return "not finished (if this stays, the run was killed)"
    if record.complete:
        return "complete"
    parts = []
    if record.interrupted:
        parts.append("interrupted")
    if record.unmeasured:
        parts.append(f"{len(record.unmeasured)} subjects could not be measured")
    return "incomplete: " + ", ".join(parts)
