"""The subjects of an area on an inventory, and the probe jobs they need (the areas themselves
are in harness.areas)."""

from __future__ import annotations

from collections.abc import Sequence

from harness.areas import AREAS, area_of
from harness.inventory import Inventory
from harness.probes import Job
from harness.probes.addresses import Addresses

__all__ = ["AREAS", "per_address_jobs", "probe_jobs", "subjects"]


def subjects(inv: Inventory, area: str) -> list[Job]:
    """Every subject of an area, in file order."""
    spec = area_of(area)
    return [job for t in inv.targets for job in spec.subjects(inv, t)]


def probe_jobs(
    inv: Inventory, area: str, probe: str, subject_keys: set[str], extra: Sequence[Job] = ()
) -> list[Job]:
    """The jobs `probe` must run so that the selected subjects of `area` (declared, and `extra`:
    the discovered ones) can be judged."""
    chosen = [j for j in [*subjects(inv, area), *extra] if j.key in subject_keys]
    keep = area_of(area).only.get(area_of(probe).area)
    return [j for j in chosen if keep(j)] if keep is not None else chosen


def per_address_jobs(job: Job, area: str, addresses: Addresses | None) -> list[Job]:
    """The probe jobs of one subject: one per address in a per-address area; the job itself
    (address None) for logins, and for a name that did not resolve, so the probe says so."""
    if not area_of(area).per_address or addresses is None or not addresses.probed:
        return [job]
    return [job.at(a) for a in addresses.probed]
