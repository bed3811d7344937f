"""Port policy: open ports outside the allowlist (ports.unexpected) and risky services
(ports.risky_service), from the port probe's scan. The risky-service list is data."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

from harness.checks import Severity
from harness.inventory import PortsSpec
from harness.outcome import Finding, Verdict
from harness.probes.ports import OpenPort, PortScan


@dataclass(frozen=True)
class RiskyService:
    id: str
    label: str
    names: frozenset[str]
    products: tuple[str, ...]
    ports: frozenset[int]
    severity: Severity
    reason: str

    def matches(self, port: OpenPort) -> bool:
        if port.identified:  # nmap -sV saw the service itself: trust that over the port number
            product = port.product.lower()
            return port.service.lower() in self.names or any(
                p.lower() in product for p in self.products
            )
        return port.port in self.ports or (port.service.lower() in self.names)


@cache
def risky_services() -> tuple[RiskyService, ...]:
    raw = yaml.safe_load(
        resources.files("harness.data").joinpath("risky_services.yaml").read_text()
    )
    return tuple(
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


def _summary(scan: PortScan) -> str:
    shown = ", ".join(f"{p.port}/{p.protocol} ({p.describe()})" for p in scan.open_ports)
    counts = f"{scan.closed} closed" + (f", {scan.filtered} filtered" if scan.filtered else "")
    opened = f"open: {shown}" if shown else "no open port"
    return f"nmap scanned {scan.scanned} on {scan.address}: {opened}; {counts}"


def unexpected(scan: PortScan, spec: PortsSpec | None) -> Verdict:
    """Every open port that ports.expected does not list."""
    expected = set(spec.expected) if spec else set()
    findings = tuple(
        Finding(
            f"port {p.port}/{p.protocol} is open but not in ports.expected: {p.describe()}",
            key=f"{p.port}/{p.protocol}",
        )
        for p in scan.open_ports
        if p.port not in expected
    )
    notes = [_summary(scan)]
    missing = sorted(expected - {p.port for p in scan.open_ports})
    if missing:
        notes.append(
            "expected but not open: " + ", ".join(str(m) for m in missing) + " (not a finding)"
        )
    return Verdict(findings=findings, notes=(*notes, *scan.notes))


def risky(scan: PortScan, rules: tuple[RiskyService, ...] | None = None) -> Verdict:
    """Every open port running a service from the risky-service list, declared or not."""
    findings: list[Finding] = []
    for port in scan.open_ports:
        for rule in rules if rules is not None else risky_services():
            if rule.matches(port):
                findings.append(
                    Finding(
                        f"{rule.label} reachable on port {port.port}/{port.protocol} "
                        f"({port.describe()}): {rule.reason}",
                        rule.severity,
                        key=f"{port.port}/{port.protocol}",
                    )
                )
                break
    return Verdict(findings=tuple(findings), notes=(_summary(scan), *scan.notes))
