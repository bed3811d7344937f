"""What a check's decision may read of its subject: the probes' `Job` is one (a Protocol here, so
that policy needs no probe module beyond the result models)."""

from __future__ import annotations

from typing import Protocol

from harness.inventory import LoginEndpoint, Settings, Target, TlsEndpoint
from harness.inventory.models import SshEndpoint


class Subject(Protocol):
    """One target, or one endpoint of it, with its effective settings."""

    @property
    def key(self) -> str: ...

    @property
    def target(self) -> Target: ...

    @property
    def endpoint(self) -> TlsEndpoint | LoginEndpoint | SshEndpoint | None: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def where(self) -> str: ...
