"""What the port probe measured on one host, as frozen data: policy imports this, never the probe
that runs nmap."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.errors import ProbeFailure


@dataclass(frozen=True)
class OpenPort:
    port: int
    protocol: str
    service: str  # nmap's service name ("" when unknown)
    product: str = ""
    version: str = ""
    extrainfo: str = ""
    tunnel: str = ""  # "ssl" when the service speaks TLS
    cpes: tuple[str, ...] = ()
    method: str = "table"  # "probed": identified by -sV; "table": guessed from the port number
    version_status: str = "not run"  # identified | unrecognised | timed out | failed | not run

    @property
    def identified(self) -> bool:
        return self.method == "probed"

    def describe(self) -> str:
        """'ftp: vsftpd 2.3.4' or 'redis (guessed from the port number)'."""
        name = self.service or "unknown service"
        if self.tunnel == "ssl":
            name = f"{name} over TLS"
        product = " ".join(p for p in (self.product, self.version) if p)
        if product:
            return f"{name}: {product}"
        if not self.identified:
            why = {
                "unrecognised": "not recognised by nmap -sV",
                "timed out": "version detection timed out",
                "failed": "version detection failed",
            }.get(self.version_status, "not identified")
            return f"{name} ({why}; name guessed from the port number)"
        return name


@dataclass(frozen=True)
class PortScan:
    host: str
    address: str
    scanned: str  # the ports.scan spec
    open_ports: tuple[OpenPort, ...]
    closed: int
    filtered: int
    elapsed: float
    notes: tuple[str, ...] = field(default_factory=tuple)
    udp: UdpScan | ProbeFailure | None = None  # None: ports.udp is 'none'

    def port(self, number: int) -> OpenPort | None:
        return next((p for p in self.open_ports if p.port == number), None)


@dataclass(frozen=True)
class UdpScan:
    scanned: str  # the ports.udp spec as given ('risky', '53,161')
    ports: str  # the ports nmap was asked for
    open_ports: tuple[OpenPort, ...]
    open_filtered: tuple[int, ...]  # no answer either way
    closed: int
    elapsed: float
    folded: int = 0  # open|filtered ports nmap counted without numbering them
    notes: tuple[str, ...] = ()

    @property
    def all_silent(self) -> bool:
        """No UDP answer at all: every port open|filtered, none open, none closed."""
        return not self.open_ports and not self.closed and bool(self.open_filtered or self.folded)
