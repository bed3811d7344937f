"""Bad input that used to get through (issue 21): each gives exit 4 from `harness validate` with
the file, line, key and a fix, never a traceback; a run file that cannot be written gives exit 3
with its path and leaves no partial file behind."""

from __future__ import annotations

import json
import os
import resource
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from plugin_lab import make_lab

from harness import atomic
from harness.cli import main
from harness.inventory import parse as inventory_yaml

pytest_plugins = ["pytester"]

HARNESS = Path(sys.executable).with_name("harness")

GOOD = """\
version: 1
targets:
  - name: web-01
    host: 127.0.0.1
    tls:
      - port: 443
    logins:
      - kind: http-basic
        url: https://127.0.0.1/admin
waivers:
  - check: banner.disclosure
    target: web-01
    reason: vendor appliance
    expires: 2027-03-31
"""


def _validate(text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """`harness validate` on the text: exit 4, the path named, no traceback; the message."""
    path = tmp_path / "targets.yaml"
    path.write_text(text)
    code = main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert code == 4, out + err
    assert err.startswith(f"{path}: invalid targets file")
    assert "Traceback" not in err and "Fix:" in err
    return err


def test_the_good_file_is_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text(GOOD)
    assert main(["validate", str(path)]) == 0, capsys.readouterr()


@pytest.mark.parametrize(
    ("edit", "line", "key"),
    [
        (("expires: 2027-03-31", "expires: 2027-02-30"), 14, "waivers[0].expires"),
        (("targets:", "defaults:\n  ca_bundle: 2027-02-30\ntargets:"), 3, "defaults.ca_bundle"),
        (("targets:", "defaults:\n  ca_bundle: 2027-02-28\ntargets:"), 3, "defaults.ca_bundle"),
    ],
)
def test_a_date_that_is_no_date_is_named(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    edit: tuple[str, str],
    line: int,
    key: str,
) -> None:
    err = _validate(GOOD.replace(*edit), tmp_path, capsys)
    assert f"line {line}:" in err and f"key {key!r}" in err


@pytest.mark.parametrize("value", ["!!float x", "!!int 0x", "[1, !!int zz]"])
def test_a_tagged_value_that_cannot_be_built_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    err = _validate(GOOD.replace("host: 127.0.0.1", f"host: {value}"), tmp_path, capsys)
    assert "line 4:" in err and "cannot read the value" in err


@pytest.mark.parametrize("loader", ["libyaml", "python"])
@pytest.mark.parametrize(
    "text",
    [
        "version: 1\ntargets: " + "[" * 600 + "]" * 600 + "\n",
        "version: 1\ntargets: " + "[" * 600 + "\n",
        "{a: " * 20_000 + "\n",
    ],
    ids=["600-closed", "600-open", "flow-mappings-20000"],
)
def test_deep_nesting_is_refused_without_a_recursion_error(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    loader: str,
) -> None:
    if loader == "python":  # the parser used where PyYAML was built without libyaml
        monkeypatch.setattr(inventory_yaml, "_LOADER", inventory_yaml._PyLoader)
    elif not hasattr(inventory_yaml, "_CLoader"):
        pytest.skip("PyYAML without libyaml here")
    err = _validate(text, tmp_path, capsys)
    assert "nested" in err or "broken YAML" in err
    assert "line " in err


def test_a_port_out_of_range_in_a_url_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _validate(
        GOOD.replace("https://127.0.0.1/admin", "http://127.0.0.50:99999/admin"), tmp_path, capsys
    )
    assert "line 9:" in err and "key 'logins[0].url'" in err and "1-65535" in err


def test_a_key_written_twice_is_refused_with_both_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _validate(
        GOOD.replace("    logins:", "    tls:\n      - port: 8443\n    logins:"), tmp_path, capsys
    )
    assert "line 5:" in err and "target 'web-01', key 'tls'" in err
    assert "lines 5 and 7" in err


def _validate_path(path: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    # a subprocess with a deadline: what used to happen here was a hang or gigabytes read
    return subprocess.run(
        [str(HARNESS), "validate", path],
        input=stdin.decode() if stdin is not None else None,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero", "pipe on stdin"])
def test_a_pipe_or_device_is_refused_without_reading_it(tmp_path: Path, kind: str) -> None:
    if kind == "fifo":
        fifo = tmp_path / "targets.yaml"
        os.mkfifo(fifo)  # nobody writes to it: a blocking open would wait for ever
        done = _validate_path(str(fifo))
    elif kind == "/dev/zero":
        done = _validate_path("/dev/zero")
    else:  # 21 MB of a valid-looking file through a pipe
        done = _validate_path("/dev/stdin", stdin=(GOOD + "#" * 21_000_000 + "\n").encode())
    assert done.returncode == 4, done.stdout + done.stderr
    assert "not a regular file" in done.stderr and "Fix:" in done.stderr
    assert "Traceback" not in done.stderr


def test_many_plain_values_are_not_taken_for_an_alias_bomb(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 300,000 tags without a single alias: 600 KB, under the size limit, and valid
    path = tmp_path / "targets.yaml"
    path.write_text(GOOD.replace("    tls:", "    tags: [" + "a," * 300_000 + "a]\n    tls:"))
    code = main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.startswith("OK ")


def test_an_alias_bomb_is_still_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bomb = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    bomb += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    err = _validate("\n".join(bomb) + "\nversion: 1\ntargets: *a8\n", tmp_path, capsys)
    assert "aliases" in err


def test_a_huge_value_is_not_echoed_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _validate(GOOD.replace("host: 127.0.0.1", "host: " + "a" * 500_000), tmp_path, capsys)
    assert "line 4:" in err and "key 'host'" in err
    assert len(err) < 1000 and "500000 characters" in err


@pytest.mark.parametrize(
    "url", ["http://admin:s3cr3t-pw@127.0.0.1/admin", "https://admin@127.0.0.1/admin"]
)
def test_a_user_or_password_in_a_url_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str
) -> None:
    err = _validate(GOOD.replace("https://127.0.0.1/admin", url), tmp_path, capsys)
    assert "key 'logins[0].url'" in err and "password_env" in err
    assert "s3cr3t-pw" not in err and "admin@" not in err


@pytest.mark.parametrize(
    "host", ["0.0.0.0", "224.0.0.1", "255.255.255.255", "'::'", "ff02::1", "'::ffff:224.0.0.1'"]
)
def test_hosts_must_be_unicast(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], host: str
) -> None:
    err = _validate(GOOD.replace("host: 127.0.0.1", f"host: {host}"), tmp_path, capsys)
    assert "line 4:" in err and "key 'host'" in err and "not one host" in err


def test_a_url_to_a_multicast_host_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _validate(GOOD.replace("https://127.0.0.1/admin", "http://224.0.0.1/"), tmp_path, capsys)
    assert "key 'logins[0].url'" in err and "not one host" in err


def _run_with_small_files(lab: pytest.Pytester, *args: str) -> subprocess.CompletedProcess[str]:
    """The plugin lab's run, in a process that cannot write a file past 100 bytes: each write
    of the summary or the known-findings file fails as it would on a full disk."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails (EFBIG) instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (100, 100))

    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=lab.path,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        preexec_fn=limit,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("option", ["--summary-json", "--known-findings"])
def test_a_run_file_that_cannot_be_written_is_exit_3_naming_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, option: str
) -> None:
    lab = make_lab(pytester, monkeypatch)
    out = lab.path / "out"
    out.mkdir()
    target = out / "run.json"
    before = json.dumps({"format": 2, "findings": []})  # a previous run's file, under 100 bytes
    target.write_text(before)
    done = _run_with_small_files(lab, option, str(target))
    assert done.returncode == 3, done.stdout + done.stderr
    assert f"{target} could not be written" in done.stdout + done.stderr
    assert "Fix:" in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert target.read_text() == before  # the old file is whole, not truncated
    assert sorted(p.name for p in out.iterdir()) == ["run.json"]  # no temporary file left


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("2999-01-01", "2999-02-30"), "waivers[0].expires"),
        (("    tags: [prod]\n", "    tags: [prod]\n    host: 127.0.0.9\n"), "lines 4 and 6"),
        (("host: 127.0.0.2", "host: 224.0.0.2"), "not one host"),
        (None, "not a regular file"),
    ],
    ids=["date", "duplicate-key", "multicast", "fifo"],
)
def test_bad_input_is_a_usage_error_at_collection(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    edit: tuple[str, str] | None,
    expected: str,
) -> None:
    lab = make_lab(pytester, monkeypatch)
    targets = lab.path / "targets.yaml"
    if edit is None:
        targets.unlink()
        os.mkfifo(targets)  # nobody writes: collection must not wait on it
    else:
        targets.write_text(targets.read_text().replace(*edit))
    result = lab.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)
    assert result.ret == 4
    err = result.stderr.str()
    assert "targets.yaml" in err and expected in err and "Fix:" in err
    assert "Traceback" not in result.stdout.str() + err


def test_a_stream_as_run_file_is_written_to_not_replaced(tmp_path: Path) -> None:
    # `--summary-json /dev/stdout` is a stream: a rename would put a file in its place
    fifo = tmp_path / "summary.json"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # so the writer's open does not wait
    try:
        atomic.write_text(fifo, '{"results": []}')
        assert stat.S_ISFIFO(fifo.stat().st_mode)
        assert os.read(reader, 1000) == b'{"results": []}'
    finally:
        os.close(reader)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json"]
