"""The logins probe: default and weak credentials, anonymous access, cleartext, lockout.

probe.py is the entry (LoginsProbe), engine.py runs one endpoint, one module per protocol
client; the measured result is in model. `LoginsProbe` and `KINDS` are loaded on first use:
the policy imports logins.model, and importing this package must not load the clients
(paramiko, requests) with it (see tests/test_layout.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.probes.logins.model import LoginResult, require

if TYPE_CHECKING:
    from harness.probes.logins.kinds import KINDS
    from harness.probes.logins.probe import LoginsProbe

__all__ = ["KINDS", "LoginResult", "LoginsProbe", "require"]


def __getattr__(name: str) -> object:
    if name == "LoginsProbe":
        from harness.probes.logins.probe import LoginsProbe

        return LoginsProbe
    if name == "KINDS":
        from harness.probes.logins.kinds import KINDS

        return KINDS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
