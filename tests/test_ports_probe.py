"""The port probe against real listeners with the real nmap: one batch, all hosts at once.

Each host has its own 127.0.50.x address and scans an explicit list of its listeners' ports,
so listeners of other processes on 0.0.0.0 never show up.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from probe_context import RecordingContext

from harness.errors import FailureKind, ProbeFailure
from harness.inventory import loads
from harness.lab.net_services import FilteredPort, http_banner, tarpit, tcp_service
from harness.probes.ports import PortsProbe
from harness.probes.ports_model import PortScan
from harness.session.subjects import subjects

MAIN, DEBIAN, SLOW = "127.0.50.1", "127.0.50.2", "127.0.50.3"


def _closed_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def scan() -> Iterator[tuple[RecordingContext, dict[str, int], float]]:
    servers = {
        "ssh": tcp_service(MAIN, 0, greeting=b"SSH-2.0-OpenSSH_7.4\r\n"),
        "ftp": tcp_service(MAIN, 0, greeting=b"220 (vsFTPd 2.3.4)\r\n"),
        "http": http_banner(MAIN, headers=(("Server", "Apache/2.4.57 (Debian)"),)),
        "tarpit": tarpit(MAIN),
        "debian": tcp_service(DEBIAN, 0, greeting=b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10\r\n"),
    }
    port = {name: s.server_address[1] for name, s in servers.items()}
    filtered, slow_filtered = FilteredPort(MAIN), FilteredPort(SLOW)
    port["filtered"], port["closed"] = filtered.port, _closed_port(MAIN)
    main_ports = ",".join(str(p) for n, p in port.items() if n != "debian")
    inv = loads(
        f"""\
version: 1
defaults: {{timeout: 1}}
targets:
  - {{name: main, host: {MAIN}, ports: {{scan: "{main_ports}"}}}}
  - {{name: debian, host: {DEBIAN}, ports: {{scan: "{port["debian"]}"}}}}
  - {{name: slow, host: {SLOW}, timeout: 0.01, ports: {{scan: all}}}}
  - {{name: nowhere, host: nowhere.invalid, ports: {{scan: "22"}}}}
"""
    )
    ctx = RecordingContext(inv)
    started = time.monotonic()
    PortsProbe().run(subjects(inv, "ports"), ctx)
    elapsed = time.monotonic() - started
    yield ctx, port, elapsed
    filtered.close()
    slow_filtered.close()
    for server in servers.values():
        server.shutdown()
        server.server_close()


def _main(scan: tuple[RecordingContext, dict[str, int], float]) -> PortScan:
    result = scan[0].results["main"]
    assert isinstance(result, PortScan), result
    return result


def test_every_job_gets_exactly_one_result(
    scan: tuple[RecordingContext, dict[str, int], float],
) -> None:
    assert set(scan[0].results) == {"main", "debian", "slow", "nowhere"}


def test_open_ports_are_identified_with_product_and_version(
    scan: tuple[RecordingContext, dict[str, int], float],
) -> None:
    result, port = _main(scan), scan[1]
    ssh, ftp, http = (result.port(port[n]) for n in ("ssh", "ftp", "http"))
    assert ssh is not None and (ssh.service, ssh.product, ssh.version) == ("ssh", "OpenSSH", "7.4")
    assert "cpe:/a:openbsd:openssh:7.4" in ssh.cpes
    assert ftp is not None and (ftp.service, ftp.product, ftp.version) == ("ftp", "vsftpd", "2.3.4")
    assert http is not None and http.service == "http" and http.product == "Apache httpd"
    assert http.version == "2.4.57" and http.identified


def test_filtered_and_closed_ports_are_not_open(
    scan: tuple[RecordingContext, dict[str, int], float],
) -> None:
    result, port = _main(scan), scan[1]
    assert result.port(port["filtered"]) is None and result.port(port["closed"]) is None
    assert result.filtered == 1 and result.closed == 1


def test_tarpit_stays_open_but_unidentified_within_its_bound(
    scan: tuple[RecordingContext, dict[str, int], float],
) -> None:
    result, port = _main(scan), scan[1]
    pit = result.port(port["tarpit"])
    assert pit is not None and not pit.identified and pit.version_status == "timed out"
    assert "version detection timed out" in pit.describe()
    assert any(f"port {port['tarpit']}/tcp: version detection timed out" in n for n in result.notes)


def test_all_cpes_are_kept(scan: tuple[RecordingContext, dict[str, int], float]) -> None:
    result = scan[0].results["debian"]
    assert isinstance(result, PortScan)
    (ssh,) = result.open_ports
    assert ssh.version.startswith("9.2p1 Debian")
    # python-nmap would keep only the last of these
    assert "cpe:/a:openbsd:openssh:9.2p1" in ssh.cpes and "cpe:/o:linux:linux_kernel" in ssh.cpes


def test_timed_out_host_is_a_failure_not_an_empty_scan(
    scan: tuple[RecordingContext, dict[str, int], float],
) -> None:
    result = scan[0].results["slow"]
    assert isinstance(result, ProbeFailure) and result.kind is FailureKind.TIMEOUT
    assert "host timeout of 1 s" in result.reason and "open ports are unknown" in result.reason


def test_unresolvable_host_is_a_dns_failure(
    scan: tuple[RecordingContext, dict[str, int], float],
) -> None:
    result = scan[0].results["nowhere"]
    assert isinstance(result, ProbeFailure) and result.kind is FailureKind.DNS
    assert "cannot resolve nowhere.invalid" in result.reason


def test_progress_per_host_and_xml_evidence(
    scan: tuple[RecordingContext, dict[str, int], float],
) -> None:
    ctx = scan[0]
    assert any(line.startswith("main: 4 open port(s)") for line in ctx.lines), ctx.lines
    assert any(line.startswith("main: done in") for line in ctx.lines)
    assert any(line.startswith("slow: timed out") for line in ctx.lines)
    names = [(key, name) for key, name, _ in ctx.evidence]
    assert ("main", "nmap port scan of main") in names
    assert ("main", "nmap version detection on main") in names
    body = next(b for k, n, b in ctx.evidence if n == "nmap version detection on main")
    assert body.startswith("<nmap-version-scans>") and "<nmaprun" in body


def test_missing_nmap_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    inv = loads("version: 1\ntargets: [{name: a, host: 127.0.50.9, ports: {scan: '22'}}]\n")
    ctx = RecordingContext(inv)
    PortsProbe().run(subjects(inv, "ports"), ctx)
    failure = ctx.results["a"]
    assert isinstance(failure, ProbeFailure) and failure.kind is FailureKind.TOOL_MISSING
    assert "nmap is not installed" in failure.reason and "apt-get install nmap" in failure.reason


def test_nmap_that_could_not_be_started_is_tried_once_more(monkeypatch: pytest.MonkeyPatch) -> None:
    """Seen once under load: exec of nmap failed with EFAULT, and the check came out broken
    although nmap never ran. The failure to create the process is simulated (it cannot be
    caused on purpose); nmap and the listener are real."""
    import errno
    import shutil
    import subprocess

    import nmap as nmap_lib

    from harness.probes.nmap_scan import NmapError, run_nmap

    binary = shutil.which("nmap")
    assert binary is not None
    real = subprocess.Popen
    failures = {"left": 1}

    def popen(*args: object, **kwargs: object) -> subprocess.Popen[bytes]:
        argv = args[0] if args else kwargs.get("args")
        if failures["left"] and isinstance(argv, list) and "-oX" in argv:  # the scan itself
            failures["left"] -= 1
            raise OSError(errno.EFAULT, "Bad address", binary)
        return real(*args, **kwargs)  # type: ignore[call-overload,no-any-return]

    monkeypatch.setattr(nmap_lib.nmap.subprocess, "Popen", popen)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        _, host = run_nmap(binary, "127.0.0.1", ["-sT", "-Pn", "-n", "-p", str(port)], guard=60)
    assert failures["left"] == 0
    state = host.find(f"ports/port[@portid='{port}']/state")
    assert state is not None and state.get("state") == "open"

    failures["left"] = 2  # fails again on the second try: broken, with the reason
    with pytest.raises(NmapError, match=r"could not start nmap: .*Bad address"):
        run_nmap(binary, "127.0.0.1", ["-sT", "-Pn", "-n", "-p", str(port)], guard=60)
