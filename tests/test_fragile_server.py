"""A fragile server gets the same TLS verdicts whatever else the harness probes at the same time.

`openssl s_server` serves one connection at a time, as many appliances do. Without a shared
per-host budget, nmap -sV, banner grabs and logins held it while sslyze scanned, and sslyze's
handshakes timed out into other verdicts. Here the TLS verdicts of a run of all four areas must
equal those of `-m tls` alone, five runs over, and a run split in two shards must give the same
verdicts as one run of the same fleet. Every verdict is compared, not a chosen few, and the
baseline must itself be a measurement (nothing broken), so the comparison cannot pass by both
sides failing to measure.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tls_servers import HOST, make_pki, s_server

SUITES = Path(__file__).parents[1] / "suites"


def _s_server(cert: Path, directory: Path) -> tuple[int, subprocess.Popen[bytes]]:
    return s_server(cert, cwd=directory)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Two single-threaded s_servers, each declared with all four areas."""
    d = tmp_path_factory.mktemp("fragile")
    pki = make_pki(d)
    servers = [_s_server(pki.leaf(f"fragile{i}", ["fragile.test", HOST]), d) for i in (1, 2)]
    lines = ["version: 1", f"defaults: {{ca_bundle: {pki.bundle}, timeout: 5}}", "targets:"]
    for i, (port, _) in enumerate(servers, 1):
        lines += [
            f"  - name: fragile{i}",
            f"    host: {HOST}",
            f"    tls: [{{port: {port}, server_name: fragile.test}}]",
            f"    ports: {{scan: '{port}', expected: [{port}]}}",
            f"    http: [{{url: 'https://{HOST}:{port}/'}}]",
            f"    logins: [{{kind: http-basic, url: 'https://{HOST}:{port}/admin',"
            " login_attempt_budget: 3}]",
        ]
    (d / "targets.yaml").write_text("\n".join(lines) + "\n")
    for suite in SUITES.glob("test_*.py"):
        shutil.copy(suite, d / suite.name)
    yield d
    for _, proc in servers:
        proc.kill()
        proc.wait()


def _verdicts(
    directory: Path, name: str, *args: str, area: str | None = "tls"
) -> dict[tuple[str, str], str]:
    """Run the suites; (target, check) -> status of every result of `area` (None: all)."""
    out = directory / f"{name}.json"
    subprocess.run(
        [
            *(sys.executable, "-m", "pytest", *sorted(p.name for p in directory.glob("test_*.py"))),
            *("--targets", "targets.yaml", "-p", "no:cacheprovider", "-q", "-rN"),
            *("--summary-json", str(out), *args),
        ],
        cwd=directory,
        capture_output=True,
        timeout=500,
    )
    results = json.loads(out.read_text())["results"]
    return {
        (r["target"], r["check"]): r["status"] for r in results if area is None or r["area"] == area
    }


@pytest.fixture(scope="module")
def tls_alone(fleet: Path) -> dict[tuple[str, str], str]:
    verdicts = _verdicts(fleet, "tls-alone", "-m", "tls")
    assert verdicts and "broken" not in verdicts.values(), verdicts  # a baseline that measured
    assert len({t for t, _ in verdicts}) == 2
    return verdicts


@pytest.mark.parametrize("run", range(1, 6))
def test_all_four_areas_give_the_tls_verdicts_of_tls_alone(
    fleet: Path, tls_alone: dict[tuple[str, str], str], run: int
) -> None:
    assert _verdicts(fleet, f"all-{run}") == tls_alone


def test_two_shards_give_the_verdicts_of_one_run(fleet: Path) -> None:
    whole = _verdicts(fleet, "whole", area=None)  # every area, not only TLS
    first = _verdicts(fleet, "shard-1", "--shard", "1/2", area=None)
    second = _verdicts(fleet, "shard-2", "--shard", "2/2", area=None)
    assert first and second and not first.keys() & second.keys()  # each target in one shard
    assert {a for _, a in whole} >= {"tls.grade", "ports.unexpected", "banner.disclosure"}
    assert first | second == whole
