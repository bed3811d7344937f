"""The TLS probe (sslyze), one module per stage: probe (the entry, TlsProbe), preflight,
request, engine, versions, groups, pace, reading, certs, trust, answered, fallback, pq; the
measured result is in model. sslyze_adapter holds every private sslyze and nassl name they use.

`TlsProbe` is loaded on first use: the policy imports tls.model, and importing this package
must not load sslyze with it (see harness.areas).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.probes.tls.probe import TlsProbe

__all__ = ["TlsProbe"]


def __getattr__(name: str) -> object:
    if name == "TlsProbe":
        from harness.probes.tls.probe import TlsProbe

        return TlsProbe
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
