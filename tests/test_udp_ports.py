"""The UDP half of the port probe against real UDP services, with the real nmap -sU -sV.

Each exposed service has its own 127.0.60.x address and listens on its own port, where nmap's
payloads go: Debian's snmpd (161), memcached (11211), dnsmasq answering any client (53) and an NTP
server that answers mode 3 and mode 6 (123, the lab's Python responder; no NTP daemon is
installed here).
A healthy host answers nothing but port unreachable and passes; a host whose ports swallow every
datagram is open|filtered, never open; nmap without raw sockets breaks only the UDP half.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from checking import at
from probe_context import RecordingContext
from udp_servers import dnsmasq, memcached, snmpd

from harness.errors import CouldNotMeasure, FailureKind, ProbeFailure
from harness.inventory import PortsSpec, Settings, loads
from harness.lab.net_services import tcp_service
from harness.lab.udp_services import NtpServer, SilentPort
from harness.policy import ports as policy
from harness.probes.nmap_scan import scanner_argv
from harness.probes.ports import PortScan, PortsProbe
from harness.probes.udp import RAW_SOCKET_HINT, UdpBudget, udp_arguments, udp_port_args
from harness.session.subjects import subjects

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="nmap -sU and ports 53/123/161 need root (run the tests as root)"
)

SNMP, NTP, MEMCACHED, DNS, HEALTHY, SILENT, UNPRIV = (f"127.0.60.{n}" for n in range(11, 18))
RISKY = {SNMP: 161, NTP: 123, MEMCACHED: 11211, DNS: 53}


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordingContext]:
    tmp = tmp_path_factory.mktemp("udp")
    with ExitStack() as stack:
        stack.enter_context(snmpd(SNMP, tmp, "rw-" + os.urandom(6).hex()))
        stack.enter_context(memcached(MEMCACHED))
        stack.enter_context(dnsmasq(DNS, tmp))
        ntp = NtpServer(NTP, 123)
        stack.callback(ntp.close)
        silent = [SilentPort(SILENT, p) for p in (161, 623)]
        for port in silent:
            stack.callback(port.close)
        web = tcp_service(UNPRIV, 0, greeting=b"SSH-2.0-OpenSSH_9.2p1\r\n")
        stack.callback(web.server_close)
        stack.callback(web.shutdown)
        tcp = web.server_address[1]
        wrapper = _unprivileged_nmap(tmp)
        targets = "\n".join(
            f"  - {{name: {name}, host: {host}, ports: {{scan: '{tcp}', udp: '{udp}'}}}}"
            for name, host, udp in [
                ("snmp", SNMP, "risky"),
                ("ntp", NTP, "risky"),
                ("memcached", MEMCACHED, "risky"),
                ("dns", DNS, "risky"),
                ("healthy", HEALTHY, "risky"),
                ("silent", SILENT, "161,623"),
            ]
        )
        inv = loads(f"version: 1\ndefaults: {{timeout: 2}}\ntargets:\n{targets}\n")
        ctx = RecordingContext(inv)
        PortsProbe().run(subjects(inv, "ports"), ctx)
        unpriv = loads(
            f"version: 1\ndefaults: {{timeout: 2}}\ntargets:\n"
            f"  - {{name: unpriv, host: {UNPRIV}, ports: {{scan: '{tcp}', expected: [{tcp}]}}}}\n"
            f"  - {{name: unpriv-extra, host: {UNPRIV}, ports: {{scan: '{tcp}'}}}}\n"
        )
        PortsProbe(nmap=str(wrapper)).run(subjects(unpriv, "ports"), ctx)
        yield ctx


def _unprivileged_nmap(tmp: Path) -> Path:
    """The real nmap, run as the unprivileged user nobody with no capabilities."""
    setpriv, nmap = shutil.which("setpriv"), shutil.which("nmap")
    if setpriv is None or nmap is None:
        pytest.skip("setpriv (util-linux) and nmap are needed")
    wrapper = tmp / "nmap-as-nobody"
    wrapper.write_text(
        f'#!/bin/sh\nexec {setpriv} --reuid=65534 --regid=65534 --clear-groups {nmap} "$@"\n'
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return wrapper


def _scan(ctx: RecordingContext, name: str) -> PortScan:
    result = ctx.results[name]
    assert isinstance(result, PortScan), result
    return result


@pytest.mark.parametrize(
    ("name", "port", "label"),
    [
        ("snmp", 161, "SNMP"),
        ("ntp", 123, "NTP"),
        ("memcached", 11211, "Memcached over UDP"),
        ("dns", 53, "DNS"),
    ],
)
def test_each_risky_udp_service_fails_both_checks(
    scan: RecordingContext, name: str, port: int, label: str
) -> None:
    result = _scan(scan, name)
    assert result.udp is not None and not isinstance(result.udp, ProbeFailure), result.udp
    assert [p.port for p in result.udp.open_ports] == [port]
    found = policy.risky(result, at())
    assert [f.text.split(" reachable")[0] for f in found.findings] == [label]
    assert f"port {port}/udp" in found.findings[0].text and "Fix: " in found.findings[0].text
    extra = policy.unexpected(result, at(ports=scan.inventory.target(name).ports))
    assert [f.text.split(" is open")[0] for f in extra.findings] == [f"port {port}/udp"]


def test_nmap_identifies_the_real_services(scan: RecordingContext) -> None:
    udp = {name: _scan(scan, name).udp for name in ("snmp", "ntp", "dns")}
    names = {
        n: u.open_ports[0].service for n, u in udp.items() if u and not isinstance(u, ProbeFailure)
    }
    assert names == {"snmp": "snmp", "ntp": "ntp", "dns": "domain"}


def test_declaring_53_udp_clears_unexpected_but_not_risky(scan: RecordingContext) -> None:
    result = _scan(scan, "dns")
    spec = (
        loads(
            f"version: 1\ntargets: [{{name: d, host: {DNS}, ports: {{expected: ['53/udp', 53]}}}}]\n"
        )
        .targets[0]
        .ports
    )
    assert policy.unexpected(result, at(ports=spec)).ok  # 53 alone would mean TCP
    assert not policy.risky(result, at()).ok


def test_healthy_host_passes_with_every_udp_port_closed(scan: RecordingContext) -> None:
    result = _scan(scan, "healthy")
    assert result.udp is not None and not isinstance(result.udp, ProbeFailure)
    assert result.udp.open_ports == () and result.udp.closed == 8
    for verdict in (policy.unexpected(result, at()), policy.risky(result, at())):
        assert verdict.ok
        assert any("no open UDP port; 8 closed" in n for n in verdict.notes), verdict.notes


def test_ports_that_swallow_datagrams_are_never_open(scan: RecordingContext) -> None:
    result = _scan(scan, "silent")
    udp = result.udp
    assert udp is not None and not isinstance(udp, ProbeFailure)
    assert udp.open_ports == () and udp.open_filtered == (161, 623) and udp.all_silent
    verdict = policy.risky(result, at())
    assert verdict.ok
    assert any("every scanned UDP port is open|filtered" in n for n in verdict.notes)


def test_without_raw_sockets_udp_is_broken_and_tcp_still_runs(scan: RecordingContext) -> None:
    clean, extra = _scan(scan, "unpriv"), _scan(scan, "unpriv-extra")
    for result in (clean, extra):
        assert isinstance(result.udp, ProbeFailure) and result.udp.kind is FailureKind.ERROR
        assert "root privileges" in result.udp.reason and RAW_SOCKET_HINT in result.udp.reason
        assert len(result.open_ports) == 1  # the TCP connect scan ran as nobody
    with pytest.raises(CouldNotMeasure) as broken:  # nothing to report is no pass on half a scan
        spec = PortsSpec(expected=[clean.open_ports[0].port])
        policy.unexpected(clean, at(ports=spec))
    assert "setcap cap_net_raw" in str(broken.value)
    verdict = policy.unexpected(extra, at())  # a TCP finding still fails
    assert len(verdict.findings) == 1 and any("UDP not measured" in n for n in verdict.notes)


def udp_argv(address: str, ports: list[str], budget: UdpBudget, **options: Any) -> list[str]:
    """The argv run_nmap runs for one UDP scan: the probe's flags, in nmap's order."""
    return scanner_argv("nmap", address, udp_arguments(address, ports, budget, **options))


def test_udp_argv_is_ours_and_bounded() -> None:
    budget = UdpBudget.of(Settings(timeout=5))
    shown, ports = udp_port_args("risky")
    assert shown == "53,69,123,137,161,623,1900,11211"
    argv = udp_argv("127.0.0.1", ports, budget, privileged=False)
    # as python-nmap composes it: nmap -oX - <hosts> <arguments>
    assert argv[:6] == ["nmap", "-oX", "-", "127.0.0.1", "-sU", "-Pn"]
    assert argv[argv.index("--host-timeout") + 1] == "30s" and "--privileged" not in argv
    assert "--privileged" in udp_argv("::1", ports, budget, privileged=True)
    sv = udp_argv("127.0.0.1", ["-p", "161"], budget, versions=True)
    assert "-sV" in sv and sv[sv.index("--host-timeout") + 1] == "30s"
    for bad in ("127.0.0.1 --script=x", "-iL /etc/passwd"):
        with pytest.raises(ValueError):
            udp_argv(bad, ports, budget)
    for spec in ("all", "161;id", "risky,53"):
        with pytest.raises(ValueError):
            udp_port_args(spec)
