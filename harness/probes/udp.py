"""UDP part of the port probe: nmap -sU with its protocol payloads, then -sV on what may be open.

UDP has no handshake: a closed port answers with ICMP port-unreachable, an open one only if the
datagram means something to the service, and a firewall or a service that ignores the datagram
both stay silent. nmap calls the silent ones `open|filtered`; they are neither open nor closed
and are reported as such, never as open. Version detection then sends nmap's UDP probes to the
open and open|filtered ports in one bounded run; any answer makes a port `open`.

nmap needs raw sockets for -sU. Without them the UDP scan is a ProbeFailure that says how to
grant them; the TCP connect scan does not depend on it.
"""

from __future__ import annotations

import ipaddress
import os
import time
from dataclasses import dataclass
from functools import cache
from importlib import resources

from defusedxml import ElementTree

from harness.data import load_yaml
from harness.errors import FailureKind, ProbeFailure
from harness.inventory import Settings
from harness.inventory.values import check_udp_scan
from harness.probes.hostgate import GATE
from harness.probes.nmap_scan import (
    VERSION_INTENSITY,
    NmapError,
    parse_ports,
    run_nmap,
)
from harness.probes.ports_model import UdpScan

RAW_SOCKET_HINT = (
    "nmap needs raw sockets for a UDP scan (-sU). Fix: run the harness as root, or grant nmap "
    "the capabilities with `sudo setcap cap_net_raw,cap_net_admin+eip $(which nmap)` (the "
    "harness then passes --privileged), or set ports.udp: none to skip UDP"
)
_NO_PRIVILEGE = ("requires root privileges", "raw socket", "Operation not permitted")


@cache
def risky_udp_ports() -> tuple[int, ...]:
    raw = load_yaml(resources.files("harness.data").joinpath("risky_udp.yaml").read_text())
    return tuple(sorted({int(entry["port"]) for entry in raw["services"]}))


@dataclass(frozen=True)
class UdpBudget:
    scan_timeout: float  # the -sU pass over every listed port
    version_timeout: float  # the -sV pass over the ports that may be open
    max_retries: int

    @classmethod
    def of(cls, settings: Settings) -> UdpBudget:
        t = settings.timeout
        return cls(
            scan_timeout=min(900.0, max(10.0, 6 * t)),
            version_timeout=min(300.0, max(20.0, 6 * t)),
            max_retries=min(3, max(1, int(t // 4))),
        )


def udp_port_args(spec: str) -> tuple[str, list[str]]:
    """(shown ports, nmap's port selection) for a validated ports.udp value other than none."""
    spec = check_udp_scan(spec)
    if spec == "risky":
        listed = ",".join(str(p) for p in risky_udp_ports())
        return listed, ["-p", listed]
    if spec.startswith("top-"):
        return spec, ["--top-ports", spec.removeprefix("top-")]
    return spec, ["-p", spec]


def udp_arguments(
    address: str,
    ports: list[str],
    budget: UdpBudget,
    *,
    versions: bool = False,
    privileged: bool | None = None,
) -> list[str]:
    """Our flags for one UDP scan of `address` (an IP address; anything else raises ValueError),
    `ports` from udp_port_args."""
    ip = ipaddress.ip_address(address)
    args = ["-sU", "-Pn", "-n", "-T4", "--noninteractive"]
    if privileged if privileged is not None else os.geteuid() != 0:
        # not root: nmap only uses raw sockets it was granted (setcap) when told so
        args.append("--privileged")
    args += ["--max-retries", str(budget.max_retries)]
    timeout = budget.version_timeout if versions else budget.scan_timeout
    if versions:
        args += ["-sV", "--version-intensity", str(VERSION_INTENSITY)]
    args += ["--host-timeout", f"{timeout:.0f}s"]
    if ip.version == 6:
        args.append("-6")
    return [*args, *ports]


def _listed(host: ElementTree.Element, wanted: str) -> list[int]:
    ports = host.find("ports")
    if ports is None:
        return []
    out = []
    for port in ports.findall("port"):
        state = port.find("state")
        if state is not None and state.get("state") == wanted:
            out.append(int(port.get("portid", "0")))
    return out


def _folded(host: ElementTree.Element, wanted: str) -> int:
    """nmap folds many ports of one state into <extraports count=...>, without their numbers."""
    ports = host.find("ports")
    if ports is None:
        return 0
    return sum(
        int(e.get("count", "0")) for e in ports.findall("extraports") if e.get("state") == wanted
    )


def scan_udp(
    nmap: str, address: str, spec: str, settings: Settings, where: str
) -> UdpScan | ProbeFailure:
    """The UDP scan of one host, bounded by UdpBudget; nmap's failures come back as data."""
    budget = UdpBudget.of(settings)
    started = time.monotonic()
    shown, selection = udp_port_args(spec)
    try:
        args = udp_arguments(address, selection, budget)
        # like the connect scan, one slot of the host's budget shared by every probe kind
        with GATE.hold(address, 1, settings.connections_per_host):
            _, host = run_nmap(nmap, address, args, budget.scan_timeout + 30)
    except NmapError as exc:
        if any(marker in exc.reason for marker in _NO_PRIVILEGE):
            return ProbeFailure(FailureKind.ERROR, where, f"{exc.reason}. {RAW_SOCKET_HINT}")
        return ProbeFailure(exc.kind, where, f"UDP scan: {exc.reason}")
    if host.get("timedout") == "true":
        return ProbeFailure(
            FailureKind.TIMEOUT,
            where,
            f"the nmap UDP scan of {address} hit its host timeout of {budget.scan_timeout:.0f} s "
            "(6 x the target's timeout) and reported no ports, so the open UDP ports are "
            "unknown. Fix: raise the target's timeout or list fewer UDP ports",
        )
    first, closed, _ = parse_ports(host)
    found = {p.port: p for p in first}
    silent = _listed(host, "open|filtered")
    notes: list[str] = []
    folded = _folded(host, "open|filtered")
    if folded:
        notes.append(
            f"{folded} more UDP port(s) are open|filtered; nmap folded them without numbers, so "
            "they were not version-probed"
        )
    maybe = sorted({*found, *silent})
    if maybe:  # one bounded -sV run: nmap's UDP probes may draw an answer from a silent port
        args = udp_arguments(address, ["-p", ",".join(map(str, maybe))], budget, versions=True)
        try:
            with GATE.hold(address, 1, settings.connections_per_host):
                _, vhost = run_nmap(nmap, address, args, budget.version_timeout + 30)
        except NmapError as exc:
            notes.append(f"UDP version detection failed ({exc.reason}); states from the -sU pass")
        else:
            if vhost.get("timedout") == "true":
                notes.append(
                    f"UDP version detection stopped at its bound of "
                    f"{budget.version_timeout:.0f} s; states from the -sU pass"
                )
            else:
                identified, _, _ = parse_ports(vhost)
                found.update({p.port: p for p in identified})
    return UdpScan(
        scanned=spec,
        ports=shown,
        open_ports=tuple(sorted(found.values(), key=lambda p: p.port)),
        open_filtered=tuple(p for p in silent if p not in found),
        closed=closed,
        elapsed=time.monotonic() - started,
        folded=folded,
        notes=tuple(notes),
    )
