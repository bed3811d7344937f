"""The background Allure writer: the same files as allure-pytest's own logger, none lost, and a
failed write fails the run instead of leaving a report with holes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from allure_commons import model2 as m
from allure_commons.logger import AllureFileLogger
from plugin_lab import make_lab

from harness.output.allure_writer import AllureWriteError, BackgroundFileLogger

pytest_plugins = ["pytester"]


def _result(n: int) -> m.TestResult:
    return m.TestResult(
        uuid=f"u{n}",
        historyId=f"h{n}",
        name=f"tls.protocols · web-{n} ✓",  # non-ASCII stays as it is, as allure-pytest writes it
        status=m.Status.FAILED,
        statusDetails=m.StatusDetails(message="TLS 1.0 accepted", trace=""),
        labels=[
            m.Label(name="target", value=f"web-{n}"),
            m.Label(name="check", value="tls.protocols"),
        ],
        parameters=[m.Parameter(name="subject", value=f"web-{n}")],
        steps=[m.TestStepResult(name="probe", status=m.Status.PASSED, attachments=[])],
        attachments=[m.Attachment(name="evidence", source=f"a{n}-attachment.json", type="json")],
        start=1,
        stop=2,
    )


def _files(directory: Path) -> dict[str, object]:
    """Every file's content, keyed by its name; a result or container file by its kind and
    the uuid inside (its file name starts with a random uuid)."""
    out: dict[str, object] = {}
    for p in directory.iterdir():
        body = json.loads(p.read_bytes())
        kind = p.name.rsplit("-", 1)[-1]
        out[f"{kind}:{body['uuid']}" if kind in ("result.json", "container.json") else p.name] = (
            body
        )
    return out


def test_writes_the_same_files_as_allure_pytest(tmp_path: Path) -> None:
    theirs, ours = (
        AllureFileLogger(str(tmp_path / "theirs")),
        BackgroundFileLogger(str(tmp_path / "ours")),
    )
    try:
        for logger in (theirs, ours):
            for n in range(50):
                logger.report_result(_result(n))
                logger.report_attached_data(f'{{"n": {n}}}', f"a{n}-attachment.json")
            logger.report_container(m.TestResultContainer(uuid="c1", children=["u1"], befores=[]))
        ours.flush()
        assert _files(tmp_path / "ours") == _files(tmp_path / "theirs")
        assert len(list((tmp_path / "ours").iterdir())) == 101
        assert not list((tmp_path / "ours").glob("*.tmp"))  # written under a temporary name
    finally:
        ours.close()


def test_a_failed_write_is_raised_at_flush(tmp_path: Path) -> None:
    target = tmp_path / "results"
    logger = BackgroundFileLogger(str(target))
    try:
        target.rmdir()
        target.write_text("not a directory")  # every later write fails
        logger.report_result(_result(1))
        with pytest.raises(AllureWriteError, match=r"1 Allure result file\(s\) could not be"):
            logger.flush()
        logger.flush()  # said once
    finally:
        logger.close()


def test_a_run_has_every_result_file_on_disk_at_its_end(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = make_lab(pytester, monkeypatch)
    lab.runpytest("-p", "no:cacheprovider", "--alluredir", "results")
    results = list((lab.path / "results").glob("*-result.json"))
    assert len(results) == 6
    assert all(json.loads(p.read_text())["status"] for p in results)


def test_a_run_whose_results_cannot_be_written_fails_loudly(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = make_lab(pytester, monkeypatch)
    # the results folder turns into a file after the plugin is configured: every write fails
    lab.makeconftest(
        "import shutil, pathlib\n"
        "def pytest_collection_finish(session):\n"
        "    d = pathlib.Path(session.config.option.allure_report_dir)\n"
        "    shutil.rmtree(d)\n"
        "    d.write_text('in the way')\n"
    )
    result = lab.runpytest("-p", "no:cacheprovider", "--alluredir", "results")
    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
    result.stdout.fnmatch_lines(["*Allure result file(s) could not be written*rerun*"])
