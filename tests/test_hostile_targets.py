"""Hostile targets: the harness never hangs, never passes what it could not measure, and a bad
target never spoils a good one.

For each kind of hostile server (tests/hostile_servers.py) one pytest run of the suites probes
a target made of that server (a TLS endpoint and every login kind, each on its own port) next to
a healthy target, with a 2 s timeout. Each run must:
- end within BOUND seconds (a hang guard, not a speed goal: the figures are printed);
- leave every check of the hostile target broken with a reason (a few named checks may fail or
  be skipped on what the server did answer), never passed;
- give the healthy target exactly the statuses it gets when probed alone;
- keep memory bounded: the run's peak RSS under MAX_RSS_MB, and no probe reading more than
  MAX_READ_MB from a server that sends without end;
- exit non-zero (could not measure is never a pass).
"""

from __future__ import annotations

import json
import os
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
from tls_servers import HOST, https_server, make_pki, strong_context

SUITES = Path(__file__).parents[1] / "suites"
TIMEOUT = 2.0
# a hang guard: generous for a loaded 2-core CI machine, far below a hang (minutes, or never)
BOUND = 10 * TIMEOUT + 40
KILL_AFTER = 240  # a run still going then has hung: kill it and fail
MAX_RSS_MB = 512  # a run's peak resident memory (about 100 MB normally; 24 GB once, unbounded)
MAX_READ_MB = 64  # what any probe may take from one endless connection, socket buffers included
HOSTILE_HOST = "127.0.0.2"
PARALLEL_RUNS = 3
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
KINDS = [*RAW, "all-200", "unresolvable"]
ENDLESS = {"endless-lines", "endless-line", "huge-headers"}
ENDPOINTS = ("tls", "http-basic", "http-form", "http-json", "ssh", "ftp")

# (kind, subject-key fragment, check) -> the status allowed instead of broken, and why
NOT_BROKEN: dict[tuple[str, str, str], str] = {
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
    **{("redirect-loop", "http-basic", c): "skipped" for c in ("login.lockout",)},
    ("redirect-loop", "http-basic", "login.password_policy"): "skipped",
}
# the failure kind each hostile run's broken results must name, per probe family
REASONS: dict[str, tuple[str, ...]] = {
    "tarpit": ("(timeout)",),
    "tls-stall": ("(timeout)", "(refused)", "(protocol error)"),
    "garbage": ("(protocol error)",),
    "endless-lines": ("(protocol error)", "(timeout)"),
    "endless-line": ("(protocol error)", "(timeout)"),
    "reset": ("(refused)", "(protocol error)"),
    "huge-headers": ("(protocol error)", "(timeout)"),
    "drip": ("(timeout)", "(protocol error)"),
    "redirect-loop": ("(protocol error)", "(ambiguous endpoint)", "(timeout)"),
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
    expected: int = 0  # results the hostile target must have: 19 per TLS endpoint, 6 per login

    def of(self, target: str) -> dict[tuple[str, str], dict[str, Any]]:
        return {(k, c): r for (t, k, c), r in _by_target(self.results).items() if t == target}


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
        data["_target"] = labels["target"]
        run.results[(labels["suite"], labels["check"])] = data
    return run


# ------------------------------------------------------------------------------ the targets


@dataclass
class Healthy:
    tls_port: int
    login_url: str
    bundle: Path
    close: Callable[[], None]

    def lines(self) -> list[str]:
        return [
            "  - name: healthy",
            f"    host: {HOST}",
            f"    tls: [{{port: {self.tls_port}, server_name: strong.test}}]",
            f"    logins: [{{kind: http-basic, url: '{self.login_url}'}}]",
        ]


def _header(bundle: Path) -> list[str]:
    return [
        "version: 1",
        f"defaults: {{timeout: {TIMEOUT:g}, login_delay: 0, ca_bundle: {bundle}}}",
        "targets:",
    ]


def _hostile_lines(kind: str, servers: dict[str, str | int]) -> list[str]:
    host = hs.UNRESOLVABLE if kind == "unresolvable" else HOSTILE_HOST
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
    lines = [f"  - name: {kind}", f"    host: {host}"]
    if "tls" in servers:
        lines.append(f"    tls: [{{port: {servers['tls']}}}]")
    lines.append(f"    logins: [{', '.join(logins)}]")
    return lines


def _hostile(kind: str) -> tuple[dict[str, str | int], list[hs.Hostile], Callable[[], None]]:
    if kind == "unresolvable":
        name = hs.UNRESOLVABLE
        endpoints: dict[str, str | int] = {
            "tls": 443,
            "http-basic": f"http://{name}/admin",
            "http-json": f"https://{name}/api/login",
            "ssh": 22,
            "ftp": 21,
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
    servers = {ep: hs.Hostile(RAW[kind], HOSTILE_HOST) for ep in ENDPOINTS}
    endpoints = {
        "tls": servers["tls"].port,
        "http-basic": servers["http-basic"].url("/admin"),
        "http-form": servers["http-form"].url("/login"),
        "http-json": servers["http-json"].url("/api/login"),
        "ssh": servers["ssh"].port,
        "ftp": servers["ftp"].port,
    }
    if kind == "redirect-loop":
        # the JSON kind takes a redirect as the answer to a login and never follows it, so a
        # redirecting API is judged like any other, against the control attempt
        del endpoints["http-json"]
    return endpoints, list(servers.values()), lambda: [s.close() for s in servers.values()]


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Healthy]:
    d = tmp_path_factory.mktemp("pki")
    pki = make_pki(d)
    port, tls_server = https_server(strong_context(pki.leaf("strong", ["strong.test"])))
    login_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    leaf = pki.leaf("login", [HOST])
    login_ctx.load_cert_chain(leaf, leaf.with_suffix(".key"))
    app = LoginApp(Config(accounts={"admin": STRONG}, tls=login_ctx))

    def close() -> None:
        tls_server.shutdown()
        app.close()

    yield Healthy(port, app.url("/admin"), pki.bundle, close)
    close()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, healthy: Healthy) -> Iterator[dict[str, Run]]:
    suites = ["test_tls.py", "test_logins.py"]
    plans: dict[str, tuple[str, list[hs.Hostile], Callable[[], None]]] = {}
    expected: dict[str, int] = {}
    for kind in KINDS:
        endpoints, servers, close = _hostile(kind)
        lines = _header(healthy.bundle) + healthy.lines() + _hostile_lines(kind, endpoints)
        plans[kind] = ("\n".join(lines) + "\n", servers, close)
        tls = "tls" in endpoints
        expected[kind] = 19 * tls + 6 * (len(endpoints) - tls)
    alone = "\n".join(_header(healthy.bundle) + healthy.lines()) + "\n"

    def one(kind: str) -> Run:
        d = tmp_path_factory.mktemp(kind, numbered=True)
        text = alone if kind == "alone" else plans[kind][0]
        run = run_suites(d, suites, text)
        run.kind = kind
        run.servers = plans[kind][1] if kind in plans else []
        run.expected = expected.get(kind, 0)
        return run

    try:
        with ThreadPoolExecutor(PARALLEL_RUNS) as pool:
            done = dict(zip(["alone", *KINDS], pool.map(one, ["alone", *KINDS]), strict=True))
    finally:
        for _, _, close in plans.values():
            close()
    yield done
    _print_figures(done)


def _print_figures(runs: dict[str, Run]) -> None:
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
    sys.__stdout__.write("\n".join(lines) + "\n")


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
        fragment = next((ep for ep in ENDPOINTS if f":{ep}:" in key), "tls")
        allowed = NOT_BROKEN.get((kind, fragment, check), "broken")
        message = result.get("statusDetails", {}).get("message", "")
        assert result["status"] == allowed, f"{key} {check}: {result['status']}: {message}"
        if allowed == "broken":
            assert "could not measure " in message, message
            assert any(r in message for r in REASONS[kind]), message
    assert run.returncode == 1, f"{kind}: exit code {run.returncode}"


@pytest.mark.parametrize("kind", KINDS)
def test_a_healthy_target_in_the_same_run_is_unaffected(runs: dict[str, Run], kind: str) -> None:
    alone = {k: r["status"] for k, r in runs["alone"].of("healthy").items()}
    assert alone and "broken" not in alone.values(), alone
    beside = {k: r["status"] for k, r in runs[kind].of("healthy").items()}
    assert beside == alone


@pytest.mark.parametrize("kind", KINDS)
def test_memory_stays_bounded(runs: dict[str, Run], kind: str) -> None:
    run = runs[kind]
    assert run.max_rss_mb < MAX_RSS_MB, f"{kind}: peak RSS {run.max_rss_mb:.0f} MB"
    most = max((s.most_sent for s in run.servers), default=0)
    assert most < MAX_READ_MB * 2**20, f"{kind}: one connection took {most / 2**20:.1f} MB"
    if kind in ENDLESS:
        assert all(s.connections for s in run.servers), "every endpoint was contacted"
