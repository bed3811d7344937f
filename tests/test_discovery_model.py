"""Discovery's pure parts: what nmap's answer for a port makes of it, the targets.yaml keys that
opt in, and a port scan carried as plain data (to xdist workers) and back unchanged."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.checks import Area
from harness.coverage import describe
from harness.errors import FailureKind, ProbeFailure
from harness.inventory import Inventory, LoginEndpoint, Target, loads
from harness.probes import ports_codec
from harness.probes.discovered import Facts, Kind, classify, facts_wanted, open_ports, plan
from harness.probes.ports_model import OpenPort, PortScan, UdpScan
from harness.session.discovery import Discovery, Scanned, coverage, discovered_jobs

HARNESS = Path(sys.executable).with_name("harness")


def _port(port: int, service: str, tunnel: str = "", protocol: str = "tcp") -> OpenPort:
    return OpenPort(
        port, protocol, service, tunnel=tunnel, method="probed", version_status="identified"
    )


def _target(extra: str = "") -> Target:
    inv = loads(
        "version: 1\ntargets:\n  - name: web-01\n    host: 127.0.0.1\n"
        f"    ports: {{scan: all}}\n{extra}"
    )
    return inv.targets[0]


@pytest.mark.parametrize(
    ("port", "kinds", "starttls"),
    [
        (_port(9443, "http", tunnel="ssl"), (Kind.TLS, Kind.HTTP), None),
        (_port(993, "imaps"), (Kind.TLS,), None),
        (_port(4433, "ssl"), (Kind.TLS,), None),
        (_port(25, "smtp"), (Kind.STARTTLS,), "smtp"),
        (_port(5432, "postgresql"), (Kind.STARTTLS,), "postgres"),
        (_port(21, "ftp"), (Kind.STARTTLS, Kind.FTP), "ftp"),
        (_port(22, "ssh"), (Kind.SSH,), None),
        (_port(8080, "http"), (Kind.HTTP,), None),
        (_port(161, "snmp", protocol="udp"), (Kind.SNMP,), None),
    ],
)
def test_nmap_services_map_to_the_areas_that_fit(
    port: OpenPort, kinds: tuple[Kind, ...], starttls: str | None
) -> None:
    guess = classify(port)
    assert (guess.kinds, guess.starttls) == (kinds, starttls)


def test_direct_tls_is_judged_as_https_unless_nmap_named_another_protocol() -> None:
    t = _target()
    guessed_name = OpenPort(
        9443, "tcp", "tungsten-https", tunnel="ssl", version_status="unrecognised"
    )
    rows = plan(t, [_port(8443, "http", tunnel="ssl"), guessed_name, _port(993, "imaps")], {})
    assert [r.tls.is_https if r.tls else None for r in rows] == [True, True, False]


def test_a_port_nmap_did_not_identify_is_listed_with_the_reason() -> None:
    guessed = OpenPort(443, "tcp", "https", method="table", version_status="timed out")
    redis = _port(6379, "redis")
    t = _target()
    rows = plan(t, [guessed, redis], {})
    assert [r.tls for r in rows] == [None, None]
    assert rows[0].why_not == "not identified by nmap (timed out)"
    assert rows[1].why_not == "no area examines redis"


def test_starttls_is_examined_only_when_the_service_offers_it() -> None:
    t = _target()
    smtp = _port(25, "smtp")
    assert facts_wanted(t, smtp) == "starttls:smtp"
    [offered] = plan(t, [smtp], {25: Facts(starttls=True)})
    assert offered.tls is not None and offered.tls.starttls == "smtp" and not offered.tls.is_https
    [plain] = plan(t, [smtp], {25: Facts(starttls=False)})
    assert plain.tls is None and "without STARTTLS" in plain.why_not


def test_logins_on_discovered_ports_need_the_second_opt_in_and_carry_no_credentials() -> None:
    ports = [_port(21, "ftp"), _port(22, "ssh"), _port(8080, "http")]
    off = plan(_target(), ports, {})
    assert [r.login for r in off] == [None, None, None]
    assert "discovered_logins: false" in off[0].why_not
    assert facts_wanted(_target(), ports[2]) is None  # no question to a web server unasked
    on_target = _target("    discovered_logins: true\n")
    assert facts_wanted(on_target, ports[2]) == "http"
    on = plan(on_target, ports, {8080: Facts(http_auth="basic")})
    kinds = [(r.login.kind, r.login.effective_port) for r in on if r.login]
    assert kinds == [("ftp", 21), ("ssh", 22), ("http-basic", 8080)]
    for row in on:
        assert row.login is not None
        assert row.login.credentials == [] and row.login.usernames is None
        assert row.login.passwords_file is None
    assert on[1].ssh is not None and on[1].ssh.port == 22


def test_open_ports_of_every_address_each_once() -> None:
    a = PortScan("h", "127.0.0.1", "all", (_port(22, "ssh"),), 0, 0, 1.0)
    b = PortScan(
        "h",
        "::1",
        "all",
        (_port(22, "ssh"), _port(443, "https")),
        0,
        0,
        1.0,
        udp=UdpScan("risky", "161", (_port(161, "snmp", protocol="udp"),), (), 0, 1.0),
    )
    assert [(p.port, p.protocol) for p in open_ports([a, b])] == [
        (22, "tcp"),
        (443, "tcp"),
        (161, "udp"),
    ]


def test_a_port_scan_survives_the_trip_to_a_worker() -> None:
    scan = PortScan(
        "h",
        "127.0.0.1",
        "all",
        (OpenPort(22, "tcp", "ssh", "OpenSSH", "9.2p1", cpes=("cpe:/a:openbsd:openssh",)),),
        65534,
        0,
        1.5,
        ("a note",),
        udp=UdpScan("risky", "161", (), (161, 123), 3, 2.0, 1, ("udp note",)),
    )
    assert ports_codec.load(ports_codec.dump(scan)) == scan
    failed = ProbeFailure(FailureKind.TIMEOUT, "web-01", "nmap gave up")
    assert ports_codec.load(ports_codec.dump(failed)) == failed
    udp_failed = PortScan("h", "127.0.0.1", "all", (), 1, 0, 1.0, udp=failed)
    assert ports_codec.load(ports_codec.dump(udp_failed)) == udp_failed


def test_scan_all_opts_in_and_discover_false_opts_out() -> None:
    assert _target().discovers
    assert not _target("    discover: false\n").discovers
    inv = loads(
        "version: 1\ntargets:\n  - name: a\n    host: 127.0.0.1\n    ports: {scan: top-100}\n"
        "  - name: b\n    host: 127.0.0.2\n    ports: {scan: top-100}\n    discover: true\n"
    )
    assert [t.discovers for t in inv.targets] == [False, True]


@pytest.mark.parametrize(
    ("extra", "key", "words"),
    [
        ("    discover: true\n", "discover", "has none. Fix: add ports: {scan: all}"),
        (
            "    ports: {scan: top-100}\n    discovered_logins: true\n",
            "discovered_logins",
            "Fix: add discover: true",
        ),
    ],
)
def test_discovery_keys_that_cannot_work_are_refused_with_a_fix(
    tmp_path: Path, extra: str, key: str, words: str
) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text(f"version: 1\ntargets:\n  - name: web-01\n    host: 127.0.0.1\n{extra}")
    done = subprocess.run(
        [str(HARNESS), "validate", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 4 and "Traceback" not in done.stderr, done.stderr
    assert str(path) in done.stderr and key in done.stderr and words in done.stderr


DECLARED = """\
version: 1
targets:
  - name: web-01
    host: 127.0.0.1
    ports: {scan: all}
    discovered_logins: true
    tls:
      - port: 443
    logins:
      - kind: snmp
      - kind: http-basic
        url: http://127.0.0.1:8080/admin
  - name: down-01
    host: 127.0.0.2
    ports: {scan: all}
"""


def _discovery() -> tuple[Inventory, Discovery]:
    inv = loads(DECLARED)
    scan = PortScan(
        "127.0.0.1",
        "127.0.0.1",
        "all",
        (_port(443, "https"), _port(9443, "http", tunnel="ssl"), _port(8080, "http")),
        0,
        0,
        1.0,
        udp=UdpScan("risky", "161", (_port(161, "snmp", protocol="udp"),), (), 0, 1.0),
    )
    timeout = ProbeFailure(FailureKind.TIMEOUT, "down-01 (127.0.0.2)", "nmap gave up")
    found = Discovery(
        scans={"web-01": Scanned(scan), "down-01": Scanned(timeout)},
        facts={"web-01": {8080: Facts(http_auth="basic")}},
        targets=["web-01", "down-01"],
    )
    return inv, found


def test_a_declared_endpoint_keeps_its_port_and_only_the_rest_is_discovered() -> None:
    inv, found = _discovery()
    jobs = discovered_jobs(inv, found)
    assert [j.key for j in jobs[Area.TLS]] == ["web-01:tls:9443 (discovered)"]
    assert jobs[Area.LOGINS] == []  # 161/udp and 8080 are declared logins already
    assert jobs[Area.SSH] == []


def test_coverage_names_the_declared_and_discovered_subjects_of_each_port() -> None:
    inv, found = _discovery()
    rows = {r.port: r for r in coverage(inv, found)["web-01"]}
    assert ("tls", "web-01:443", "declared") in rows["443/tcp"].subjects
    assert ("tls", "web-01:tls:9443 (discovered)", "discovered") in rows["9443/tcp"].subjects
    assert ("logins", "web-01:snmp:161", "declared") in rows["161/udp"].subjects
    assert rows["8080/tcp"].note == ""  # the declared login examines it: nothing left out
    [down] = coverage(inv, found)["down-01"]
    assert "could not measure" in describe(down) and "nmap gave up" in describe(down)


def test_a_discovered_login_never_carries_the_target_declared_credentials() -> None:
    inv = loads(
        "version: 1\ntargets:\n  - name: web-01\n    host: 127.0.0.1\n    ports: {scan: all}\n"
        "    discovered_logins: true\n    logins:\n      - kind: ftp\n        port: 2121\n"
        "        usernames: [ops]\n        passwords_file: secret-words.txt\n"
        "        credentials: [{username: ops, password_env: OPS_FTP_PASSWORD}]\n",
        base_dir=None,
    )
    scan = PortScan(
        "127.0.0.1", "127.0.0.1", "all", (_port(2121, "ftp"), _port(21, "ftp")), 0, 0, 1
    )
    found = Discovery(scans={"web-01": Scanned(scan)}, targets=["web-01"])
    [job] = discovered_jobs(inv, found)[Area.LOGINS]  # 2121 is declared: only 21 is discovered
    assert job.key == "web-01:ftp:21 (discovered)"
    assert isinstance(job.endpoint, LoginEndpoint)
    assert job.endpoint.credentials == [] and job.endpoint.usernames is None
    assert job.endpoint.passwords_file is None
