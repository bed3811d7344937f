"""Port policy and the probe's pure parts: nmap arguments we build, XML we parse, verdicts."""

from __future__ import annotations

import pytest
from checking import at
from defusedxml import ElementTree

from harness.checks import Severity
from harness.inventory import PortsSpec, Settings
from harness.policy.ports import risky, risky_services, unexpected
from harness.probes.nmap_scan import parse_ports, scanner_argv
from harness.probes.ports import Budget, nmap_arguments, port_args
from harness.probes.ports_model import OpenPort, PortScan


def test_port_specs_become_nmap_port_flags() -> None:
    assert port_args("top-100") == ["--top-ports", "100"]
    assert port_args("all") == ["-p-"]
    assert port_args("22,80,8000-8100") == ["-p", "22,80,8000-8100"]
    assert port_args([22, "443"]) == ["-p", "22,443"]
    for bad in ("22;id", "-iL /etc/passwd", "top-0", "80-22", "99999"):
        with pytest.raises(ValueError):
            port_args(bad)


def nmap_argv(
    nmap: str, address: str, ports: list[str], budget: Budget, versions: bool = False
) -> list[str]:
    """The argv run_nmap runs for one TCP scan (test_scope reads the real one from /proc)."""
    return scanner_argv(nmap, address, nmap_arguments(address, ports, budget, versions=versions))


def test_argv_is_ours_and_takes_only_an_address() -> None:
    budget = Budget.of(Settings(timeout=10))
    argv = nmap_argv("/usr/bin/nmap", "127.0.0.1", port_args("top-10"), budget)
    # as python-nmap composes it: nmap -oX - <hosts> <arguments>
    assert argv[:6] == ["/usr/bin/nmap", "-oX", "-", "127.0.0.1", "-sT", "-Pn"]
    assert "-sV" not in argv and argv[argv.index("--host-timeout") + 1] == "300000ms"
    assert argv[argv.index("--max-retries") + 1] == "2"
    sv = nmap_argv("nmap", "::1", ["-p", "22"], budget, versions=True)
    assert "-6" in sv and sv[sv.index("--version-intensity") + 1] == "2"
    assert sv[sv.index("--host-timeout") + 1] == "40s"
    for bad in ("-iL /etc/passwd", "127.0.0.1 --script=x", "www.example.com"):
        with pytest.raises(ValueError):
            nmap_argv("nmap", bad, ["-p", "22"], budget)


@pytest.mark.parametrize(
    ("timeout", "host", "version", "retries"),
    [(0.01, 1.0, 15.0, 1), (1, 30.0, 15.0, 1), (5, 150.0, 20.0, 1), (10, 300.0, 40.0, 2)],
)
def test_budget_is_bounded_from_the_timeout(
    timeout: float, host: float, version: float, retries: int
) -> None:
    budget = Budget.of(Settings(timeout=timeout))
    assert (budget.host_timeout, budget.version_timeout, budget.max_retries) == (
        host,
        version,
        retries,
    )


SCAN_XML = """<?xml version="1.0"?><nmaprun><host><status state="up"/>
<address addr="127.0.0.1" addrtype="ipv4"/>
<ports><extraports state="closed" count="995"/><extraports state="filtered" count="2"/>
<port protocol="tcp" portid="22"><state state="open"/><service name="ssh" product="OpenSSH"
 version="9.2p1 Debian 2+deb12u10" extrainfo="protocol 2.0" method="probed" conf="10">
<cpe>cpe:/a:openbsd:openssh:9.2p1</cpe><cpe>cpe:/o:linux:linux_kernel</cpe></service></port>
<port protocol="tcp" portid="6379"><state state="open"/><service name="redis" method="table"
 conf="3" servicefp="SF:..."/></port>
<port protocol="tcp" portid="8443"><state state="open"/><service name="https-alt" tunnel="ssl"
 method="table" conf="3"/></port>
<port protocol="tcp" portid="81"><state state="filtered"/><service name="hosts2-ns"/></port>
<port protocol="tcp" portid="82"><state state="closed"/></port>
</ports></host></nmaprun>"""


def test_xml_keeps_every_cpe_and_counts_what_is_not_open() -> None:
    host = ElementTree.fromstring(SCAN_XML).find("host")
    ports, closed, filtered = parse_ports(host)
    assert [p.port for p in ports] == [22, 6379, 8443]
    assert ports[0].cpes == ("cpe:/a:openbsd:openssh:9.2p1", "cpe:/o:linux:linux_kernel")
    assert ports[0].identified and not ports[1].identified
    assert ports[1].version_status == "unrecognised" and ports[2].tunnel == "ssl"
    assert (closed, filtered) == (996, 3)


def test_timed_out_host_has_no_ports_to_parse() -> None:
    xml = '<nmaprun><host timedout="true"><status state="up"/></host></nmaprun>'
    host = ElementTree.fromstring(xml).find("host")
    assert host.get("timedout") == "true" and parse_ports(host) == ([], 0, 0)


def _scan(*ports: OpenPort) -> PortScan:
    return PortScan("db-01", "127.0.0.1", "top-1000", ports, 997, 0, 1.0)


SSH = OpenPort(22, "tcp", "ssh", "OpenSSH", "9.6p1", method="probed", version_status="identified")
HTTPS = OpenPort(443, "tcp", "http", "nginx", "", tunnel="ssl", method="probed")
REDIS = OpenPort(6379, "tcp", "redis", version_status="timed out")
DOCKER = OpenPort(2375, "tcp", "http", "Docker", "27.1.1", method="probed")
ES = OpenPort(9201, "tcp", "http", "Elasticsearch REST API", "8.14.1", method="probed")


def test_unexpected_lists_port_service_and_product() -> None:
    verdict = unexpected(_scan(SSH, HTTPS, REDIS), at(ports=PortsSpec(expected=[22, 443, 25])))
    (finding,) = verdict.findings
    assert finding.text == (
        "port 6379/tcp is open but not in ports.expected: redis (version detection timed out; "
        "name guessed from the port number)"
    )
    assert "expected but not open: 25 (not a finding)" in verdict.notes
    assert unexpected(_scan(SSH, HTTPS), at(ports=PortsSpec(expected=[22, 443]))).ok
    assert unexpected(_scan(), at(ports=PortsSpec())).ok
    assert "no open port" in unexpected(_scan(), at(ports=PortsSpec())).notes[0]
    assert (
        "http over TLS: nginx" in unexpected(_scan(HTTPS), at(ports=PortsSpec())).findings[0].text
    )


def test_risky_services_declared_or_not() -> None:
    verdict = risky(_scan(SSH, HTTPS, REDIS, DOCKER, ES), at())
    texts = [f.text for f in verdict.findings]
    assert len(texts) == 3
    assert texts[0].startswith("Redis reachable on port 6379/tcp") and "guessed" in texts[0]
    assert texts[1].startswith("Docker Engine API reachable on port 2375/tcp (http: Docker")
    assert texts[2].startswith("Elasticsearch reachable on port 9201/tcp")
    assert [f.severity for f in verdict.findings] == [
        Severity.HIGH,
        Severity.CRITICAL,
        Severity.HIGH,
    ]
    assert risky(_scan(SSH, HTTPS), at()).ok


def test_identified_service_wins_over_the_port_number() -> None:
    ssh_on_23 = OpenPort(23, "tcp", "ssh", "OpenSSH", "9.6p1", method="probed")
    telnet_on_2323 = OpenPort(2323, "tcp", "telnet", "Linux telnetd", method="probed")
    guessed_23 = OpenPort(23, "tcp", "telnet")
    assert risky(_scan(ssh_on_23), at()).ok
    assert risky(_scan(telnet_on_2323), at()).findings[0].text.startswith("Telnet reachable")
    assert risky(_scan(guessed_23), at()).findings[0].severity is Severity.HIGH


def test_risky_service_list_is_complete_data() -> None:
    rules = {r.id: r for r in risky_services()}
    wanted = {"telnet", "ftp", "r-services", "smb", "rdp", "vnc", "snmp", "mysql", "postgresql"}
    wanted |= {"mssql", "mongodb", "redis", "memcached", "elasticsearch", "docker-api"}
    assert wanted <= set(rules)
    assert 2375 in rules["docker-api"].ports and rules["docker-api"].severity is Severity.CRITICAL
    for rule in rules.values():
        assert rule.reason and rule.label and (rule.names or rule.ports)
