"""What each area tests: the subjects (targets or endpoints) and the probes they need."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from harness.checks import Area
from harness.inventory import Inventory, LoginEndpoint, Target
from harness.inventory_models import Overrides, SshEndpoint
from harness.probes import Job, ProbeKind
from harness.probes.addresses import Addresses


@dataclass(frozen=True)
class AreaSpec:
    """One area: the probes its checks need (run in this order), the one whose result its checks
    judge, its subjects on one target (keys double as pytest ids), and whether its probes
    connect to every address of a name (logins stay on the name, as a client would)."""

    probes: tuple[ProbeKind, ...]
    main: ProbeKind
    subjects: Callable[[Inventory, Target], list[Job]]
    per_address: bool


def _tls(inv: Inventory, t: Target) -> list[Job]:
    return [Job(f"{t.name}:{ep.label}", t, ep, inv.settings(t, ep)) for ep in t.tls]


def _ports(inv: Inventory, t: Target) -> list[Job]:
    return [Job(t.name, t, None, inv.settings(t))] if t.ports is not None else []


def _banners(inv: Inventory, t: Target) -> list[Job]:
    return [Job(t.name, t, None, inv.settings(t))] if t.ports is not None or t.http else []


def _logins(inv: Inventory, t: Target) -> list[Job]:
    keys = _login_keys(t.name, t.logins)
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


# the one registry of areas; banners read nmap's -sV output as well as their own grabs
AREAS: dict[Area, AreaSpec] = {
    Area.TLS: AreaSpec((ProbeKind.TLS,), ProbeKind.TLS, _tls, per_address=True),
    Area.PORTS: AreaSpec((ProbeKind.PORTS,), ProbeKind.PORTS, _ports, per_address=True),
    Area.BANNERS: AreaSpec(
        (ProbeKind.PORTS, ProbeKind.BANNERS), ProbeKind.BANNERS, _banners, per_address=True
    ),
    Area.LOGINS: AreaSpec((ProbeKind.LOGINS,), ProbeKind.LOGINS, _logins, per_address=False),
    Area.SSH: AreaSpec((ProbeKind.SSH,), ProbeKind.SSH, _ssh, per_address=True),
}


def subjects(inv: Inventory, area: str) -> list[Job]:
    """Every subject of an area, in file order."""
    spec = AREAS[Area(area)]
    return [job for t in inv.targets for job in spec.subjects(inv, t)]


def probe_jobs(
    inv: Inventory, area: str, probe: str, subject_keys: set[str], extra: Sequence[Job] = ()
) -> list[Job]:
    """The jobs `probe` must run so that the selected subjects of `area` (declared, and `extra`:
    the discovered ones) can be judged."""
    chosen = [j for j in [*subjects(inv, area), *extra] if j.key in subject_keys]
    if area == "banners" and probe == "ports":
        return [j for j in chosen if j.target.ports is not None]
    return chosen


def _login_keys(target: str, logins: list[LoginEndpoint]) -> list[str]:
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


def per_address_jobs(job: Job, area: str, addresses: Addresses | None) -> list[Job]:
    """The probe jobs of one subject: one per address in a per-address area; the job itself
    (address None) for logins, and for a name that did not resolve, so the probe says so."""
    if not AREAS[Area(area)].per_address or addresses is None or not addresses.probed:
        return [job]
    return [job.at(a) for a in addresses.probed]
