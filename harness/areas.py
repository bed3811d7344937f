"""The one registry of areas (their names: harness.checks.Area): per area its probes, its subjects, whether it probes every address
of a name, the tool its probe steps name, where its checks are defined, and its default wording.

A probe kind is an area's name (each area with a probe of its own has one), so this registry is
also the registry of probes: each one's implementation is imported on first use, so that loading
the plugin does not load every tool's library (sslyze, paramiko) and a broken one only breaks its
own area.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import import_module
from urllib.parse import urlsplit

from harness.checks import Area

__all__ = ["AREAS", "Area", "AreaDef", "area_of", "define_checks", "load_probe", "prewarm"]
from harness.inventory import Inventory, LoginEndpoint, Target
from harness.inventory.models import Overrides, SshEndpoint
from harness.probes import Job, Probe


@dataclass(frozen=True)
class AreaDef:
    """One area. `probes` run in this order; `main` is the one whose result its checks judge;
    `subjects` lists its subjects on one target (keys double as pytest ids); `per_address`:
    its probes connect to every address of a name (logins stay on the name, as a client would).
    `only` narrows the jobs of another area's probe this area reads. `policy` is the module
    whose import defines the area's checks. `tool`, `measured`, `broken` and `affected` are the
    words of the probe steps, docs/checks.md and the result page ({where} is the subject)."""

    area: Area
    probes: tuple[Area, ...]
    subjects: Callable[[Inventory, Target], list[Job]]
    per_address: bool
    probe: Callable[[], type[Probe]]
    policy: str
    tool: str
    measured: str
    broken: str
    affected: str
    only: Mapping[Area, Callable[[Job], bool]] = field(default_factory=dict)

    @property
    def main(self) -> Area:
        return self.area


def _tls(inv: Inventory, t: Target) -> list[Job]:
    return [Job(f"{t.name}:{ep.label}", t, ep, inv.settings(t, ep)) for ep in t.tls]


def _ports(inv: Inventory, t: Target) -> list[Job]:
    return [Job(t.name, t, None, inv.settings(t))] if t.ports is not None else []


def _banners(inv: Inventory, t: Target) -> list[Job]:
    return [Job(t.name, t, None, inv.settings(t))] if t.ports is not None or t.http else []


def _logins(inv: Inventory, t: Target) -> list[Job]:
    keys = login_keys(t.name, t.logins)
    return [Job(key, t, ep, inv.settings(t, ep)) for ep, key in zip(t.logins, keys, strict=True)]


def _ssh(inv: Inventory, t: Target) -> list[Job]:
    """Declared ssh endpoints, then each ssh login endpoint's port not declared already: a
    server we try logins on is worth knowing the transport of."""
    endpoints = list(t.ssh)
    for login in t.logins:
        if login.kind == "ssh" and all(e.port != login.effective_port for e in endpoints):
            endpoints.append(SshEndpoint(port=login.effective_port, timeout=login.timeout))
    return [
        Job(f"{t.name}:ssh:{ep.port}", t, ep, inv.settings(t, Overrides(timeout=ep.timeout)))
        for ep in endpoints
    ]


def login_keys(target: str, logins: list[LoginEndpoint]) -> list[str]:
    """'web:http-basic:8080'; endpoints of one kind sharing a port add their URL path
    ('web:http-basic:8080/ops'), and only what is still alike is numbered ('#2')."""
    base = [f"{target}:{ep.kind}:{ep.effective_port}" for ep in logins]
    keys = [
        key + (urlsplit(ep.url).path or "/" if ep.url and base.count(key) > 1 else "")
        for key, ep in zip(base, logins, strict=True)
    ]
    seen: dict[str, int] = {}
    out: list[str] = []
    for key in keys:
        seen[key] = seen.get(key, 0) + 1
        out.append(key if seen[key] == 1 else f"{key}#{seen[key]}")
    return out


def _probe(module: str, name: str) -> Callable[[], type[Probe]]:
    def load() -> type[Probe]:
        probe: type[Probe] = getattr(import_module(module), name)
        return probe

    return load


AREAS: dict[Area, AreaDef] = {
    Area.TLS: AreaDef(
        Area.TLS,
        (Area.TLS,),
        _tls,
        per_address=True,
        probe=_probe("harness.probes.tls", "TlsProbe"),
        policy="harness.policy.tls",
        tool="sslyze scan",
        measured="sslyze connects to the endpoint, on every address of its name, with the "
        "declared SNI (and STARTTLS where declared), and runs its scan commands: a handshake "
        "per protocol version and cipher suite, the certificate chain and its trust, the "
        "vulnerability probes, and the HTTP headers for HSTS; one hand-written TLS 1.3 "
        "ClientHello asks for a hybrid post-quantum group. The result is judged against the "
        "declared Mozilla profile (tls_profile) and the target's settings.",
        broken="The endpoint did not complete a TLS handshake within the target's timeout "
        "(closed, filtered, not TLS, or a wrong STARTTLS protocol), the name did not resolve, "
        "or the scan command this check needs failed. The reason names which, and what to "
        "change.",
        affected="every client that connects to {where}: browsers, API clients and other services",
    ),
    Area.PORTS: AreaDef(
        Area.PORTS,
        (Area.PORTS,),
        _ports,
        per_address=True,
        probe=_probe("harness.probes.ports", "PortsProbe"),
        policy="harness.policy.ports",
        tool="nmap scan",
        measured="nmap connect-scans (-sT) the declared ports.scan range on every address of "
        "the target's name, then identifies each open port's service (-sV); UDP ports are "
        "probed with -sU when the run has root. Open ports are judged against ports.expected "
        "and the list of risky services.",
        broken="nmap is missing, the host did not answer within nmap's host timeout (nmap "
        "then reports no ports, which is never read as 'nothing open'), or the name did not "
        "resolve.",
        affected="everything listening on {where}: each open port is a service anyone on the "
        "network can reach",
    ),
    # banners read nmap's -sV output as well as their own grabs (on targets that scan ports)
    Area.BANNERS: AreaDef(
        Area.BANNERS,
        (Area.PORTS, Area.BANNERS),
        _banners,
        per_address=True,
        probe=_probe("harness.probes.banners", "BannersProbe"),
        policy="harness.policy.banners",
        tool="banner reads",
        measured="The greeting or HTTP headers of each open port (and nmap -sV's answer) are "
        "read, and each product and version is matched against the shipped software "
        "catalogue; distro-packaged builds are judged by their distro's support window "
        "(backports).",
        broken="The port scan it reads failed, or no open port gave a greeting or header "
        "within the timeout.",
        affected="{where}: anyone who can reach it reads what it runs, and attackers pick "
        "exploits by version",
        only={Area.PORTS: lambda job: job.target.ports is not None},
    ),
    Area.LOGINS: AreaDef(
        Area.LOGINS,
        (Area.LOGINS,),
        _logins,
        per_address=False,
        probe=_probe("harness.probes.logins", "LoginsProbe"),
        policy="harness.policy.logins",
        tool="login attempts",
        measured="The declared login endpoint (HTTP basic, HTTP form, FTP, SSH, SNMP) is "
        "tried within login_attempt_budget attempts, the likeliest pairs first, stopping at "
        "any sign of lockout; a random, certainly wrong password is tried too, so an endpoint "
        "that accepts anything is not taken for a weak one. Credentials are masked in every "
        "output.",
        broken="The endpoint did not answer, its answers could not be told apart (a wrong "
        "password 'accepted' as well: an ambiguous endpoint), or it pointed the probe to a "
        "destination outside the declared scope.",
        affected="the accounts behind the login at {where}, and what those accounts can reach",
    ),
    Area.SSH: AreaDef(
        Area.SSH,
        (Area.SSH,),
        _ssh,
        per_address=True,
        probe=_probe("harness.probes.ssh", "SshProbe"),
        policy="harness.policy.ssh",
        tool="SSH algorithm reads",
        measured="The SSH server's version line and KEXINIT are read (every algorithm list in "
        "the server's order, and strict key exchange), one key exchange per host key type "
        "reads each key's type and size, and a group exchange is asked for a 1024-bit group. "
        "No login is attempted and no credential is sent. The lists are judged against "
        "harness/data/ssh_policy.yaml.",
        broken="The port did not answer, did not speak SSH, sent a malformed or oversized "
        "packet, or left a key exchange unanswered within the timeout, so the algorithms or "
        "host keys this check needs were not read.",
        affected="everyone who connects to {where} over SSH (administrators, deploy jobs, file "
        "transfers): what they type and send, and the server's identity",
    ),
}


def area_of(name: str) -> AreaDef:
    return AREAS[Area(name)]


def define_checks(area: str | None = None) -> None:
    """Import the policy modules that define the checks of one area (or of all)."""
    for spec in AREAS.values() if area is None else (area_of(area),):
        import_module(spec.policy)


def load_probe(kind: str) -> Probe:
    return area_of(kind).probe()()


_prewarmed: set[Area] = set()


def prewarm(kind: str) -> None:
    """Import a probe's module in the background, so its imports (sslyze: about half a second)
    overlap pytest's collection instead of delaying the probe's first connection."""
    if kind not in set(Area) or Area(kind) in _prewarmed:
        return
    spec = AREAS[Area(kind)]
    _prewarmed.add(spec.area)
    load = spec.probe

    def run() -> None:
        with contextlib.suppress(Exception):  # load_probe reports a broken probe when needed
            load()

    threading.Thread(target=run, name=f"prewarm-{kind}", daemon=True).start()
