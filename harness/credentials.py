"""The organisation's declared credentials, read from the environment or a file at run time,
and registered with the masking boundary as they are read.

In the core (not in the logins probe) so the session can register every declared secret when
targets.yaml is loaded without importing the login clients (requests, paramiko): a run with
no login endpoint never pays for them.
"""

from __future__ import annotations

import os
from pathlib import Path

from harness import redact
from harness.inventory import Credential, Inventory


class CredentialError(Exception):
    """A declared credential that cannot be read (the message names it and why)."""


def resolve(path: Path, base_dir: Path | None) -> Path:
    return path if path.is_absolute() or base_dir is None else base_dir / path


def read(cred: Credential, base_dir: Path | None) -> str:
    """The secret; masked in every output from now on. CredentialError when it cannot be read."""
    if cred.password_env:
        value = os.environ.get(cred.password_env)
        if value is None:
            raise CredentialError(
                f"environment variable {cred.password_env} (credential {cred.username!r}) "
                "is not set"
            )
    else:
        assert cred.password_file is not None
        try:
            value = resolve(cred.password_file, base_dir).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise CredentialError(
                f"password_file {cred.password_file} (credential {cred.username!r}) "
                f"cannot be read: {exc.strerror}"
            ) from None
    redact.register(value, cred.username)
    return value


def register_declared(inventory: Inventory) -> None:
    """Read every declared secret once, so the mask knows them before anything is written; one
    that cannot be read is reported by the probe of its endpoint."""
    base_dir = inventory.path.parent if inventory.path else None
    for target in inventory.targets:
        for endpoint in target.logins:
            for cred in endpoint.credentials:
                try:
                    read(cred, base_dir)
                except CredentialError:
                    continue
