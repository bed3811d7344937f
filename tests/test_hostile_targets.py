"""Hostile targets: the harness never hangs, never passes what it could not measure, and a bad
target never spoils a good one.

For each kind of hostile server (tests/hostile_servers.py) one pytest run of all four suites
probes a target made of that server (a TLS endpoint, every login kind, a port scan and a banner
grab, each on a port of its own) next to a healthy target, with a 2 s timeout. Each run must:
- end within BOUND seconds (a hang guard, not a speed goal: the figures are printed);
- leave every check of the hostile target broken with a reason, never passed, except the few
  listed in NOT_BROKEN and MEASURED_PORTS, which judge what the server did answer;
- give the healthy target exactly the statuses it gets in a run of its own;
- keep memory bounded: the run's peak RSS under MAX_RSS_MB, and no probe reading more than
  MAX_READ_MB from a server that sends without end;
- exit non-zero (could not measure is never a pass).
For the tarpit and garbage kinds, a third target is one bare port of that server, scanned but not
declared as an endpoint: banners come only from a grab nmap -sV allows and from -sV itself. The
tarpit's banner checks are broken, naming each source tried; garbage is an answer, so they pass.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hostile_servers as hs
import pytest
from login_servers import Config, LoginApp
from tls_servers import HOST, Pki, https_server, make_pki, strong_context

from harness.checks import catalogue
from harness.lab.udp_services import SilentPort

SUITES = Path(__file__).parents[1] / "suites"
TIMEOUT = 2.0
# a hang guard: generous for a loaded 2-core CI machine, far below a hang (minutes, or never)
BOUND = 10 * TIMEOUT + 40
KILL_AFTER = 240  # a run still going then has hung: kill it and fail
MAX_RSS_MB = 512  # a run's peak resident memory (about 100 MB normally; 24 GB once, unbounded)
MAX_READ_MB = 64  # what any probe may take from one endless connection, socket buffers included
HOSTILE_HOST = "127.0.0.2"
TLS_CHECKS = sum(c.area == "tls" for c in catalogue().values())  # results per TLS endpoint
PARALLEL_RUNS = 6
STRONG = "vX9#qLr2!mTz8@kP"

# every raw-socket behaviour serves the TLS endpoint and each login kind on a port of its own
RAW: dict[str, hs.Behaviour] = {
    "tarpit": hs.tarpit,
    "tls-stall": hs.tls_stall,
    "garbage": hs.garbage,
    "endless-lines": hs.endless_lines,
    "endless-line": hs.endless_line,
    "reset": hs.reset,
    "huge-headers": hs.huge_headers,
    "drip": hs.drip,
    "redirect-loop": hs.redirect_loop,
}
# "steer" points every client at a sentinel (hs.Sentinel) through form actions, redirects, meta
# refresh and links: the sentinels, on an undeclared address and on an undeclared port of the
# hostile host, must see no connection from any run
KINDS = [*RAW, "steer", "all-200", "unresolvable"]
SENTINEL_HOST = "127.0.0.53"
# kind -> the status of banner.* on a bare port of that server (target "<kind>-port")
PORT_ONLY = {"tarpit": "broken", "garbage": "passed"}
ENDLESS = {"endless-lines", "endless-line", "huge-headers"}
ENDPOINTS = ("tls", "http-basic", "http-form", "http-json", "ssh", "ftp")
# beside them, a UDP port that swallows every datagram: the UDP scan and an snmp login meet it
UDP_ENDPOINTS = ("snmp",)

# (kind, subject-key fragment, check) -> the status allowed instead of broken, and why
NOT_BROKEN: dict[tuple[str, str, str], str | set[str]] = {
    # the server answered, over plain HTTP: that much is measured, and it is a finding
    ("all-200", "http-basic", "login.cleartext"): "failed",
    ("all-200", "http-form", "login.cleartext"): "failed",
    ("all-200", "http-json", "login.cleartext"): "failed",
    ("redirect-loop", "http-basic", "login.cleartext"): "failed",
    # forms and JSON logins declare no protected URL, and none opts in to lockout or policy
    ("all-200", "http-form", "login.anonymous"): "skipped",
    ("all-200", "http-json", "login.anonymous"): "skipped",
    **{("all-200", k, "login.lockout"): "skipped" for k in ENDPOINTS},
    **{("all-200", k, "login.password_policy"): "skipped" for k in ENDPOINTS},
    ("redirect-loop", "http-basic", "login.lockout"): "skipped",
    ("redirect-loop", "http-basic", "login.password_policy"): "skipped",
    # the banner grab reads one complete header block and never follows a redirect: these
    # servers do send one (the first 64 KB of the 10 MB one name nginx 1.18.0)
    ("all-200", "", "banner.disclosure"): "failed",
    ("all-200", "", "banner.outdated"): {"passed", "skipped"},  # as nmap -sV names the server
    ("huge-headers", "", "banner.disclosure"): "failed",
    ("huge-headers", "", "banner.outdated"): "failed",
    # steer answers HTTP over plain HTTP (a measured finding), declares no protected URL for
    # the JSON kind, and sends a header block without a product in it
    ("steer", "http-basic", "login.cleartext"): "failed",
    ("steer", "http-json", "login.cleartext"): "failed",
    ("steer", "http-json", "login.anonymous"): "skipped",
    **{("steer", k, "login.lockout"): "skipped" for k in ("http-basic", "http-json")},
    **{("steer", k, "login.password_policy"): "skipped" for k in ("http-basic", "http-json")},
    ("steer", "", "banner.disclosure"): "passed",
    ("steer", "", "banner.outdated"): {"passed", "skipped"},
    ("redirect-loop", "", "banner.disclosure"): "passed",
    ("redirect-loop", "", "banner.outdated"): {"passed", "skipped"},
}
# nmap's connect scan measures an open port whatever the service then does; what the service
# does only costs version detection (bounded per port), so the ports checks must be measured
MEASURED_PORTS = {"passed", "failed"}
# the failure kind each hostile run's broken results must name, per probe family
REASONS: dict[str, tuple[str, ...]] = {
    "tarpit": ("(timeout)",),
    "tls-stall": ("(timeout)", "(refused)", "(protocol error)"),
    "garbage": ("(protocol error)", "(timeout)"),
    "endless-lines": ("(protocol error)", "(timeout)"),
    "endless-line": ("(protocol error)", "(timeout)"),
    "reset": ("(refused)", "(protocol error)", "Connection reset by peer"),
    "huge-headers": ("(protocol error)", "(timeout)"),
    "drip": ("(timeout)", "(protocol error)"),
    "redirect-loop": ("(protocol error)", "(ambiguous endpoint)", "(timeout)"),
    "steer": ("(outside declared scope)", "(ambiguous endpoint)", "(protocol error)", "(timeout)"),
    "all-200": ("(ambiguous endpoint)",),
    "unresolvable": ("(dns)",),
}


@dataclass
class Run:
    kind: str
    returncode: int = -1
    seconds: float = 0.0
    max_rss_mb: float = 0.0
    output: str = ""
    results: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    servers: list[hs.Hostile] = field(default_factory=list)
    expected: int = (
        0  # hostile results: TLS_CHECKS per TLS endpoint, 6 per login, 2 ports, 2 banners
    )

    def of(self, target: str) -> dict[tuple[str, str], dict[str, Any]]:
        return {(k, c): r for (t, k, c), r in _by_target(self.results).items() if t == target}

    def statuses(self, target: str) -> dict[tuple[str, str], str]:
        """Status by (subject key without port numbers, check): comparable across runs."""
        return {(re.sub(r":\d+", "", k), c): r["status"] for (k, c), r in self.of(target).items()}


def _by_target(
    results: dict[tuple[str, str], dict[str, Any]],
) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(r["_target"], key, check): r for (key, check), r in results.items()}


def run_suites(d: Path, suites: list[str], targets: str) -> Run:
    """One pytest run of the suites in its own process; wall time, exit code and peak RSS."""
    (d / "targets.yaml").write_text(targets)
    for name in suites:
        shutil.copy(SUITES / name, d / name)
    out = (d / "output.txt").open("w")
    start = time.monotonic()
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "pytest", *suites, "--targets", "targets.yaml"),
            *("-p", "no:cacheprovider", "--alluredir", "allure", "-q", "-rN", "-p", "no:timeout"),
        ],
        cwd=d,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    run = Run(kind=d.name)
    deadline = start + KILL_AFTER
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.05)
    run.seconds = time.monotonic() - start
    proc.returncode = run.returncode = os.waitstatus_to_exitcode(status)
    run.max_rss_mb = usage.ru_maxrss / 1024
    out.close()
    run.output = (d / "output.txt").read_text(errors="replace")
    for f in (d / "allure").glob("*-result.json"):
        data = json.loads(f.read_text())
        labels = {lb["name"]: lb["value"] for lb in data["labels"]}
        if "target" not in labels:
            continue  # an area without subjects in this run (the healthy target scans no ports)
        data["_target"] = labels["target"]
        run.results[(labels["suite"], labels["check"])] = data
    return run


# ------------------------------------------------------------------------------ the targets


@dataclass
class Healthy:
    """A strong HTTPS server and an HTTPS login with a strong password: nothing to find but
    a version in a header. Each run gets its own, so concurrent runs never load one server."""

    tls_port: int
    login_url: str
    close: Callable[[], None]

    def lines(self) -> list[str]:
        # no port scan here: nmap -sV spends 20 s or more on a Python HTTPS server, which only
        # slows every run down (the hostile targets have theirs)
        return [
            "  - name: healthy",
            f"    host: {HOST}",
            "    timeout: 10",  # healthy under load too: six runs share two cores
            f"    tls: [{{port: {self.tls_port}, server_name: strong.test}}]",
            f"    logins: [{{kind: http-basic, url: '{self.login_url}'}}]",
            f"    http: [{{url: 'https://{HOST}:{self.tls_port}/'}}]",
        ]


def _header(bundle: Path) -> list[str]:
    return [
        "version: 1",
        f"defaults: {{timeout: {TIMEOUT:g}, login_delay: 0, ca_bundle: {bundle}}}",
        "targets:",
    ]


def _hostile_lines(kind: str, servers: dict[str, str | int]) -> list[str]:
    host = {"unresolvable": hs.UNRESOLVABLE, "all-200": HOST}.get(kind, HOSTILE_HOST)
    logins = []
    if "http-basic" in servers:
        logins.append(f"{{kind: http-basic, url: '{servers['http-basic']}'}}")
    if "http-form" in servers:
        logins.append(f"{{kind: http-form, url: '{servers['http-form']}', failure_text: Invalid}}")
    if "http-json" in servers:
        logins.append(f"{{kind: http-json, url: '{servers['http-json']}'}}")
    if "ssh" in servers:
        logins.append(f"{{kind: ssh, port: {servers['ssh']}}}")
    if "ftp" in servers:
        logins.append(f"{{kind: ftp, port: {servers['ftp']}}}")
    if "snmp" in servers:
        logins.append(f"{{kind: snmp, port: {servers['snmp']}}}")
    lines = [f"  - name: {kind}", f"    host: {host}"]
    if "tls" in servers:
        lines.append(f"    tls: [{{port: {servers['tls']}}}]")
    lines.append(f"    logins: [{', '.join(logins)}]")
    # the port scan and the banner grab meet the same server as the first login kind
    web = str(servers["http-basic"])
    port = web.split("/")[2].partition(":")[2] or "80"
    scanned = f"{servers['tls']},{port}" if "tls" in servers else port
    udp = f", udp: '{servers['snmp']}'" if "snmp" in servers else ""
    lines.append(f"    ports: {{expected: [{scanned}], scan: '{scanned}'{udp}}}")
    lines.append(f"    http: [{{url: '{web.rsplit('/', 1)[0]}/'}}]")
    return lines


def _hostile(
    kind: str, sentinels: list[hs.Sentinel]
) -> tuple[dict[str, str | int], list[hs.Hostile], Callable[[], None]]:
    if kind == "unresolvable":
        name = hs.UNRESOLVABLE
        endpoints: dict[str, str | int] = {
            "tls": 443,
            "http-basic": f"http://{name}/admin",
            "http-json": f"https://{name}/api/login",
            "ssh": 22,
            "ftp": 21,
            "snmp": 161,
        }
        return endpoints, [], lambda: None
    if kind == "all-200":
        app = LoginApp(Config(everything_200=True))
        endpoints = {
            "http-basic": app.url("/admin"),
            "http-form": app.url("/login"),
            "http-json": app.url("/api/login"),
        }
        return endpoints, [], app.close
    behaviour = hs.steer_to(*(s.url() for s in sentinels)) if kind == "steer" else RAW[kind]
    servers = {ep: hs.Hostile(behaviour, HOSTILE_HOST) for ep in ENDPOINTS}
    silent = SilentPort(HOSTILE_HOST)
    endpoints = {
        "tls": servers["tls"].port,
        "http-basic": servers["http-basic"].url("/admin"),
        "http-form": servers["http-form"].url("/login"),
        "http-json": servers["http-json"].url("/api/login"),
        "ssh": servers["ssh"].port,
        "ftp": servers["ftp"].port,
        "snmp": silent.port,
    }
    if kind == "redirect-loop":
        # the JSON kind takes a redirect as the answer to a login and never follows it, so a
        # redirecting API is judged like any other, against the control attempt
        del endpoints["http-json"]

    def close() -> None:
        silent.close()
        for server in servers.values():
            server.close()

    return endpoints, list(servers.values()), close


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def start_healthy(pki: Pki) -> Healthy:
    tls_ctx = strong_context(pki.leaf("strong", ["strong.test"]))
    port, tls_server = https_server(tls_ctx)
    login_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    leaf = pki.leaf("login", [HOST])
    login_ctx.load_cert_chain(leaf, leaf.with_suffix(".key"))
    app = LoginApp(Config(accounts={"admin": STRONG}, tls=login_ctx))

    def close() -> None:
        tls_server.shutdown()
        app.close()

    return Healthy(port, app.url("/admin"), close)


@pytest.fixture(scope="module")
def sentinels() -> Iterator[list[hs.Sentinel]]:
    both = [hs.Sentinel(SENTINEL_HOST), hs.Sentinel(HOSTILE_HOST)]
    yield both
    for sentinel in both:
        sentinel.close()


@pytest.fixture(scope="module")
def runs(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    pki: Pki,
    sentinels: list[hs.Sentinel],
) -> Iterator[dict[str, Run]]:
    suites = ["test_tls.py", "test_logins.py", "test_ports.py", "test_banners.py"]
    plans: dict[str, tuple[str, list[hs.Hostile]]] = {}
    expected: dict[str, int] = {}
    closers: list[Callable[[], None]] = []
    for kind in ["alone", *KINDS]:
        healthy = start_healthy(pki)
        closers.append(healthy.close)
        lines = _header(pki.bundle) + healthy.lines()
        servers: list[hs.Hostile] = []
        if kind != "alone":
            endpoints, servers, close = _hostile(kind, sentinels)
            closers.append(close)
            lines += _hostile_lines(kind, endpoints)
            if kind in PORT_ONLY:
                bare = hs.Hostile(RAW[kind], HOSTILE_HOST)
                servers.append(bare)
                closers.append(bare.close)
                lines += [
                    f"  - name: {kind}-port",
                    f"    host: {HOSTILE_HOST}",
                    f"    ports: {{expected: [{bare.port}], scan: '{bare.port}'}}",
                ]
            tls = "tls" in endpoints
            expected[kind] = TLS_CHECKS * tls + 6 * (len(endpoints) - tls) + 2 + 2
        plans[kind] = ("\n".join(lines) + "\n", servers)

    def one(kind: str) -> Run:
        d = tmp_path_factory.mktemp(kind, numbered=True)
        run = run_suites(d, suites, plans[kind][0])
        run.kind = kind
        run.servers = plans[kind][1]
        run.expected = expected.get(kind, 0)
        return run

    try:
        with ThreadPoolExecutor(PARALLEL_RUNS) as pool:
            done = dict(zip(["alone", *KINDS], pool.map(one, ["alone", *KINDS]), strict=True))
    finally:
        for close in closers:
            close()
    yield done
    show(request, _figures(done))


def show(request: pytest.FixtureRequest, lines: list[str]) -> None:
    """Print figures past pytest's capture, so every run shows them."""
    capman = request.config.pluginmanager.getplugin("capturemanager")
    with capman.global_and_fixture_disabled():
        sys.stdout.write("\n".join(lines) + "\n")


def _figures(runs: dict[str, Run]) -> list[str]:
    lines = [
        "",
        f"hostile targets: timeout {TIMEOUT:g} s, bound {BOUND:g} s, "
        f"{PARALLEL_RUNS} runs at a time",
        f"{'run':<15}{'seconds':>8}{'peak RSS MB':>13}{'most read MB':>14}{'exit':>6}",
    ]
    for kind, run in runs.items():
        most = max((s.most_sent for s in run.servers), default=0) / 2**20
        lines.append(
            f"{kind:<15}{run.seconds:>8.1f}{run.max_rss_mb:>13.0f}{most:>14.2f}{run.returncode:>6}"
        )
    return lines


# ---------------------------------------------------------------------------------- the tests


@pytest.mark.parametrize("kind", KINDS)
def test_run_ends_within_the_bound(runs: dict[str, Run], kind: str) -> None:
    run = runs[kind]
    assert run.seconds < BOUND, (
        f"{kind}: {run.seconds:.1f} s (bound {BOUND:g} s)\n{run.output[-3000:]}"
    )


@pytest.mark.parametrize("kind", KINDS)
def test_hostile_checks_are_broken_with_a_reason_never_passed(
    runs: dict[str, Run], kind: str
) -> None:
    run = runs[kind]
    mine = run.of(kind)
    assert len(mine) == run.expected, f"{kind}: {len(mine)} results\n{run.output[-3000:]}"
    for (key, check), result in mine.items():
        fragment = next(
            (ep for ep in (*ENDPOINTS, *UDP_ENDPOINTS) if f":{ep}:" in key),
            "tls" if ":" in key else "",
        )
        listed = NOT_BROKEN.get((kind, fragment, check), "broken")
        allowed = {listed} if isinstance(listed, str) else listed
        if check.startswith("ports.") and kind != "unresolvable":
            allowed = MEASURED_PORTS
        message = result.get("statusDetails", {}).get("message", "")
        assert result["status"] in allowed, f"{key} {check}: {result['status']}: {message}"
        if result["status"] == "broken":
            assert "could not measure " in message, message
            # a port that swallows datagrams is silent whatever its TCP neighbours do
            silent = fragment in UDP_ENDPOINTS and kind != "unresolvable"
            reasons = ("(timeout)",) if silent else REASONS[kind]
            assert any(r in message for r in reasons), message
    assert run.returncode == 1, f"{kind}: exit code {run.returncode}"


@pytest.mark.parametrize("kind", KINDS)
def test_a_healthy_target_in_the_same_run_is_unaffected(runs: dict[str, Run], kind: str) -> None:
    alone = runs["alone"].statuses("healthy")
    assert len(alone) == TLS_CHECKS + 6 + 2 and "broken" not in alone.values(), alone
    assert runs[kind].statuses("healthy") == alone


@pytest.mark.parametrize("kind", KINDS)
def test_memory_stays_bounded(runs: dict[str, Run], kind: str) -> None:
    run = runs[kind]
    assert run.max_rss_mb < MAX_RSS_MB, f"{kind}: peak RSS {run.max_rss_mb:.0f} MB"
    most = max((s.most_sent for s in run.servers), default=0)
    assert most < MAX_READ_MB * 2**20, f"{kind}: one connection took {most / 2**20:.1f} MB"
    if kind in ENDLESS:
        assert all(s.connections for s in run.servers), "every endpoint was contacted"


@pytest.mark.parametrize("kind", PORT_ONLY)
def test_a_bare_port_gives_a_banner_verdict_only_when_it_said_something(
    runs: dict[str, Run], kind: str
) -> None:
    run = runs[kind]
    port = run.servers[-1].port
    mine = {c: r for (_, c), r in run.of(f"{kind}-port").items() if c.startswith("banner.")}
    assert set(mine) == {"banner.disclosure", "banner.outdated"}, run.output[-3000:]
    for check, result in mine.items():
        message = result.get("statusDetails", {}).get("message", "")
        assert result["status"] == PORT_ONLY[kind], f"{check}: {result['status']}: {message}"
        if PORT_ONLY[kind] == "broken":
            assert "could not measure " in message and "(timeout)" in message, message
            assert "no source said a single byte" in message, message
            assert f"nmap -sV of port {port}/tcp: " in message, message


def test_no_answer_steers_a_probe_off_the_declared_scope(
    runs: dict[str, Run], sentinels: list[hs.Sentinel]
) -> None:
    """Over the whole corpus, and the steering server above all: 0 connections to a sentinel."""
    assert [s.connections for s in sentinels] == [0, 0]
    messages = [
        r.get("statusDetails", {}).get("message", "") for r in runs["steer"].of("steer").values()
    ]
    refused = [m for m in messages if "outside declared scope" in m]
    assert refused and all(sentinels[0].url() in m for m in refused), messages
