"""What a valid targets file may still get wrong on the day it is used: a waiver past its expiry
(its finding is reported again) and a password_env that is not set where the check runs.

These are warnings, not errors: validate often runs where the run's secrets are not (a laptop, a
lint job), and an expired waiver hides nothing, so neither stops a run. `harness validate` prints
them and still exits 0; the run reports the finding again and counts the expired waivers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from harness.inventory.models import Inventory, Waiver


def expired(inv: Inventory, today: dt.date) -> list[Waiver]:
    return [w for w in inv.waivers if w.expires < today]


def warnings(inv: Inventory, today: dt.date, environ: Mapping[str, str]) -> list[str]:
    """One line per defect: where (line, target, key), what is wrong, and the fix."""
    out: list[str] = []
    for k, waiver in enumerate(inv.waivers):
        if waiver.expires < today:
            out.append(
                f"{_line(inv, f'waivers/{k}')}key 'waivers[{k}].expires': the waiver for "
                f"{waiver.check} on target {waiver.target!r} expired on {waiver.expires}, so its "
                "finding is reported again. Fix: after a new review set a later expires, or "
                "remove the waiver and fix the finding"
            )
    for target in inv.targets:
        for j, login in enumerate(target.logins):
            for c, cred in enumerate(login.credentials):
                if cred.password_env and cred.password_env not in environ:
                    key = f"logins[{j}].credentials[{c}].password_env"
                    out.append(
                        f"{_line(inv, f'{target.name}/logins/{j}/credentials/{c}')}target "
                        f"{target.name!r}, key {key!r}: environment variable {cred.password_env} "
                        f"is not set here, so the run cannot try credential {cred.username!r}. "
                        f"Fix: set {cred.password_env} in the run's environment (a CI secret), "
                        "or use password_file"
                    )
    return out


def _line(inv: Inventory, key: str) -> str:
    line = inv.lines.get(key)
    return f"line {line}: " if line else ""
