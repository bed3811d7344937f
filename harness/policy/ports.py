"""Port policy: open ports outside the allowlist (ports.unexpected) and risky services
(ports.risky_service), from the port probe's TCP and UDP scans. The risky lists are data.

A UDP port nmap saw only as open|filtered got no answer: it is a note, never a finding. When the
UDP scan could not run (no raw sockets), findings from TCP still fail the check, but a check
with nothing to report cannot pass on half a measurement: it ends broken with the UDP reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from harness.checks import Area, Severity, check, judged_by_default
from harness.data import load_yaml
from harness.errors import CouldNotMeasure, ProbeFailure
from harness.inventory import PortsSpec
from harness.outcome import Finding, Verdict
from harness.probes.ports_model import OpenPort, PortScan, UdpScan
from harness.subject import Subject


@dataclass(frozen=True)
class RiskyService:
    id: str
    label: str
    names: frozenset[str]
    products: tuple[str, ...]
    ports: frozenset[int]
    severity: Severity
    reason: str
    protocol: str = "tcp"
    fix: str = ""

    def matches(self, port: OpenPort) -> bool:
        if port.protocol != self.protocol:
            return False
        if port.identified:  # nmap -sV saw the service itself: trust that over the port number
            product = port.product.lower()
            return port.service.lower() in self.names or any(
                p.lower() in product for p in self.products
            )
        return port.port in self.ports or (port.service.lower() in self.names)


@cache
def risky_services() -> tuple[RiskyService, ...]:
    raw = load_yaml(resources.files("harness.data").joinpath("risky_services.yaml").read_text())
    return (
        tuple(
            RiskyService(
                id=entry["id"],
                label=entry["label"],
                names=frozenset(n.lower() for n in entry.get("names", ())),
                products=tuple(entry.get("products", ())),
                ports=frozenset(int(p) for p in entry.get("ports", ())),
                severity=Severity(entry["severity"]),
                reason=" ".join(entry["reason"].split()),
            )
            for entry in raw["services"]
        )
        + risky_udp_services()
    )


@cache
def risky_udp_services() -> tuple[RiskyService, ...]:
    raw = load_yaml(resources.files("harness.data").joinpath("risky_udp.yaml").read_text())
    return tuple(
        RiskyService(
            id=entry["id"],
            label=entry["label"],
            names=frozenset(n.lower() for n in entry.get("names", ())),
            products=tuple(entry.get("products", ())),
            ports=frozenset([int(entry["port"])]),
            severity=Severity(entry["severity"]),
            reason=" ".join(entry["reason"].split()),
            protocol="udp",
            fix=" ".join(entry["fix"].split()),
        )
        for entry in raw["services"]
    )


def _summary(scan: PortScan) -> str:
    shown = ", ".join(f"{p.port}/{p.protocol} ({p.describe()})" for p in scan.open_ports)
    counts = f"{scan.closed} closed" + (f", {scan.filtered} filtered" if scan.filtered else "")
    opened = f"open: {shown}" if shown else "no open port"
    return f"nmap scanned {scan.scanned} on {scan.address}: {opened}; {counts}"


def _udp_notes(scan: PortScan) -> tuple[str, ...]:
    udp = scan.udp
    if udp is None:
        return ("UDP not scanned (ports.udp: none)",)
    if isinstance(udp, ProbeFailure):
        return (f"UDP not measured: {udp.reason}",)
    return udp_notes(udp, scan.address)


def udp_notes(udp: UdpScan, address: str) -> tuple[str, ...]:
    shown = ", ".join(f"{p.port}/udp ({p.describe()})" for p in udp.open_ports)
    notes = [
        f"nmap -sU -sV scanned UDP {udp.ports} on {address} in {udp.elapsed:.1f} s: "
        + (f"open: {shown}" if shown else "no open UDP port")
        + f"; {udp.closed} closed"
    ]
    if udp.all_silent:
        notes.append(
            "every scanned UDP port is open|filtered: nothing answered and nothing refused, as "
            "behind a firewall that drops UDP, so the UDP exposure of this host is unknown"
        )
    elif udp.open_filtered:
        notes.append(
            "open|filtered (no answer to nmap's payloads or probes; not a finding): "
            + ", ".join(f"{p}/udp" for p in udp.open_filtered)
        )
    return (*notes, *udp.notes)


def _open(scan: PortScan) -> tuple[OpenPort, ...]:
    udp = scan.udp.open_ports if isinstance(scan.udp, UdpScan) else ()
    return (*scan.open_ports, *udp)


@check("ports.unexpected")
def unexpected(scan: PortScan, subject: Subject) -> Verdict:
    """Every open port (TCP or UDP) that ports.expected does not list."""
    spec = subject.target.ports or PortsSpec()
    findings = tuple(
        Finding(
            f"port {p.port}/{p.protocol} is open but not in ports.expected: {p.describe()}",
            key=f"{p.port}/{p.protocol}",
        )
        for p in _open(scan)
        if not spec.expects(p.port, p.protocol)
    )
    notes = [_summary(scan)]
    seen = {p.port if p.protocol == "tcp" else f"{p.port}/udp" for p in _open(scan)}
    missing = [str(m) for m in spec.expected if m not in seen]
    if missing:
        notes.append("expected but not open: " + ", ".join(missing) + " (not a finding)")
    return complete(
        Verdict(findings=findings, notes=(*notes, *_udp_notes(scan), *scan.notes)), scan
    )


@check("ports.risky_service")
def risky(
    scan: PortScan, subject: Subject, rules: tuple[RiskyService, ...] | None = None
) -> Verdict:
    """Every open port running a service from the risky-service lists, declared or not."""
    findings: list[Finding] = []
    for port in _open(scan):
        for rule in rules if rules is not None else risky_services():
            if rule.matches(port):
                fix = f" Fix: {rule.fix}" if rule.fix else ""
                findings.append(
                    Finding(
                        f"{rule.label} reachable on port {port.port}/{port.protocol} "
                        f"({port.describe()}): {rule.reason}.{fix}",
                        rule.severity,
                        key=f"{port.port}/{port.protocol}",
                    )
                )
                break
    notes = (_summary(scan), *_udp_notes(scan), *scan.notes)
    return complete(Verdict(findings=tuple(findings), notes=notes), scan)


@judged_by_default(Area.PORTS)
def _expected(subject: Subject) -> str:
    ports = subject.target.ports
    expected = ", ".join(map(str, ports.expected if ports else [])) or "none"
    return f"judged against ports.expected ({expected})"


def complete(verdict: Verdict, scan: PortScan) -> Verdict:
    """A verdict with nothing to report needs the UDP half measured too, else it is broken."""
    if verdict.ok and isinstance(scan.udp, ProbeFailure):
        raise CouldNotMeasure(scan.udp)
    return verdict
