"""What the banner probe read on one host, as frozen data: policy imports this, never the probe
that opens sockets."""

from __future__ import annotations

from dataclasses import dataclass

from harness.errors import FailureKind


@dataclass(frozen=True)
class Banner:
    """One thing a service said: a header value, a greeting, or nmap's identification."""

    source: str  # "Server header", "SSH identification string", "FTP greeting", "nmap -sV"
    where: str  # "http://127.0.0.12:8080/" or "port 2222/tcp"
    text: str
    port: int | None = None
    product: str = ""  # nmap -sV fields, for source "nmap -sV"
    version: str = ""
    extrainfo: str = ""
    cpes: tuple[str, ...] = ()

    @property
    def group(self) -> str:
        """Banners of one response or one port share a distro context."""
        return self.where


@dataclass(frozen=True)
class Source:
    """One place a banner was asked for, and whether the server said anything at all there."""

    name: str  # "http on port 443/tcp (HTTP headers)", "nmap -sV of port 443/tcp"
    answered: bool  # at least one byte came back (garbage counts; silence does not)
    outcome: str  # what happened, for the reason when nothing answered
    kind: FailureKind | None = None  # why a grab failed, when it did


@dataclass(frozen=True)
class BannerScan:
    host: str
    banners: tuple[Banner, ...]
    examined: tuple[str, ...]  # every grab made, for the report
    notes: tuple[str, ...] = ()
    sources: tuple[Source, ...] = ()  # every source tried, answered or not
    where: str = ""
