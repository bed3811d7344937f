"""What each area tests: the subjects (targets or endpoints) and the probes they need."""

from __future__ import annotations

from urllib.parse import urlsplit

from harness.inventory import Inventory, LoginEndpoint
from harness.probes import Job
from harness.probes.addresses import Addresses

# banners read nmap's -sV output as well as their own grabs
AREA_PROBES: dict[str, tuple[str, ...]] = {
    "tls": ("tls",),
    "ports": ("ports",),
    "banners": ("ports", "banners"),
    "logins": ("logins",),
}
# probes that connect to every address of a name; logins stay on the name, as a client would
PER_ADDRESS: frozenset[str] = frozenset({"tls", "ports", "banners"})


def subjects(inv: Inventory, area: str) -> list[Job]:
    """Every subject of an area, in file order. Keys double as pytest ids."""
    jobs: list[Job] = []
    for t in inv.targets:
        if area == "tls":
            for ep in t.tls:
                jobs.append(Job(f"{t.name}:{ep.label}", t, ep, inv.settings(t, ep)))
        elif area == "ports" and t.ports is not None:
            jobs.append(Job(t.name, t, None, inv.settings(t)))
        elif area == "banners" and (t.ports is not None or t.http):
            jobs.append(Job(t.name, t, None, inv.settings(t)))
        elif area == "logins":
            for login, key in zip(t.logins, _login_keys(t.name, t.logins), strict=True):
                jobs.append(Job(key, t, login, inv.settings(t, login)))
    return jobs


def probe_jobs(inv: Inventory, area: str, probe: str, subject_keys: set[str]) -> list[Job]:
    """The jobs `probe` must run so that the selected subjects of `area` can be judged."""
    chosen = [j for j in subjects(inv, area) if j.key in subject_keys]
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


def per_address_jobs(job: Job, probe: str, addresses: Addresses | None) -> list[Job]:
    """The probe jobs of one subject: one per address for PER_ADDRESS probes; the job itself
    (address None) for logins, and for a name that did not resolve, so the probe says so."""
    if probe not in PER_ADDRESS or addresses is None or not addresses.probed:
        return [job]
    return [job.at(a) for a in addresses.probed]
