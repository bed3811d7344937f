"""The areas checks belong to. Their names are here, below everything (the catalogue and the
inventory's waivers name them); what each area probes, its subjects and its words are in
harness.areas.registry."""

from __future__ import annotations

from enum import StrEnum


class Area(StrEnum):
    """The areas checks belong to; the names of the probe kinds too."""

    TLS = "tls"
    PORTS = "ports"
    BANNERS = "banners"
    LOGINS = "logins"
    SSH = "ssh"
