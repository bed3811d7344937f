"""Running nmap with python-nmap's help, and reading its XML: shared by the TCP (ports.py) and
UDP (udp.py) scans.

python-nmap finds nmap (`PortScanner()` runs `nmap -V`) and reads its output
(`analyse_nmap_xml_scan`, which raises on nmap's errors). nmap itself runs as our child
(`stopping.run_child`, argv `nmap -oX - <address> <our flags>`, no shell, with a timeout), so a
SIGTERM can end it; python-nmap's scan() would keep the process to itself. The callers'
validation (an IP address we resolved, flags we built) is what keeps the argv ours. The ports
are read from the raw XML (`get_nmap_last_output()`), not python-nmap's dictionary, which keeps
one CPE per port, drops the -sV method, an unrecognised fingerprint, the TLS tunnel and the
closed and filtered counts, and shows a host that timed out as up with no ports.
"""

from __future__ import annotations

import errno
import ipaddress
import math
import subprocess
from collections.abc import Callable
from typing import TypeVar

import nmap as nmap_lib
from defusedxml import ElementTree

from harness.errors import FailureKind
from harness.probes import stopping
from harness.probes.ports_model import OpenPort

T = TypeVar("T")

INSTALL_HINT = (
    "install nmap: apt-get install nmap (Debian/Ubuntu), dnf install nmap (RHEL/Fedora), "
    "brew install nmap (macOS)"
)
VERSION_INTENSITY = 2  # nmap's --version-light: common probes, plus every probe for the port


def scanner_argv(nmap: str, address: str, arguments: list[str]) -> list[str]:
    """The argv nmap runs with: nmap -oX - <address> <arguments> (python-nmap's order)."""
    return [nmap, "-oX", "-", str(ipaddress.ip_address(address)), *arguments]


class NmapError(Exception):
    """nmap could not give an answer: its kind and a reason that says what to do."""

    def __init__(self, kind: FailureKind, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


# The process could not be created (seen once here: EFAULT from exec under load). nmap never
# ran, so nothing reached the target and one more try is safe.
NOT_STARTED = {errno.EFAULT, errno.EAGAIN, errno.ENOMEM, errno.EINTR}


def _started(start: Callable[[], T]) -> T:
    """start(), tried once more when the nmap process could not be created; an OSError that
    remains is an NmapError that says so."""
    for attempt in (1, 2):
        try:
            return start()
        except OSError as exc:
            if attempt == 1 and exc.errno in NOT_STARTED:
                continue
            raise NmapError(FailureKind.ERROR, f"could not start nmap: {exc}") from None
    raise AssertionError("unreachable")


def _scanner(nmap: str) -> nmap_lib.PortScanner:
    """python-nmap's scanner, which runs `nmap -V` first and reports any failure to start it as
    "not found": tried once more before that is believed."""
    try:
        return nmap_lib.PortScanner(nmap_search_path=(nmap,))
    except nmap_lib.PortScannerError:
        return nmap_lib.PortScanner(nmap_search_path=(nmap,))


def _scan(scanner: nmap_lib.PortScanner, argv: list[str], guard: float) -> None:
    """Run nmap as a child the run can end on SIGTERM (python-nmap's own scan() keeps its
    process to itself), then let python-nmap read the output, as its scan() would."""
    _, out, err = stopping.run_child(argv, math.ceil(guard))
    said = err.decode("utf-8", "replace")
    lines = [ln for ln in said.splitlines() if ln.strip()]
    scanner.analyse_nmap_xml_scan(
        nmap_xml_output=out.decode("utf-8", "replace"),
        nmap_err=said,
        nmap_err_keep_trace=[ln for ln in lines if not ln.lower().startswith("warning: ")],
        nmap_warn_keep_trace=[ln for ln in lines if ln.lower().startswith("warning: ")],
    )


def run_nmap(
    nmap: str, address: str, arguments: list[str], guard: float
) -> tuple[str, ElementTree.Element]:
    """Run nmap (no shell) and return its XML text and the <host> element."""
    ip = str(ipaddress.ip_address(address))  # an address only, never an option
    try:
        scanner = _scanner(nmap)
    except nmap_lib.PortScannerError as exc:
        raise NmapError(
            FailureKind.TOOL_MISSING, f"cannot run nmap: {exc}. Fix: {INSTALL_HINT}"
        ) from None
    try:
        _started(lambda: _scan(scanner, scanner_argv(nmap, ip, arguments), guard))
    except subprocess.TimeoutExpired:
        raise NmapError(FailureKind.TIMEOUT, f"nmap did not finish within {guard:.0f} s") from None
    except nmap_lib.PortScannerError as exc:  # no XML came back; the message is nmap's stderr
        said = [ln for ln in str(exc).splitlines() if ln.strip() not in ("", "QUITTING!")]
        raise NmapError(FailureKind.ERROR, f"nmap failed: {(said or ['no output'])[-1]}") from None
    except (AttributeError, KeyError, ValueError) as exc:  # python-nmap read a cut-short XML
        raise NmapError(FailureKind.PROTOCOL, f"nmap wrote incomplete XML: {exc}") from None
    raw = scanner.get_nmap_last_output()
    xml = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as exc:
        raise NmapError(FailureKind.PROTOCOL, f"nmap wrote unreadable XML: {exc}") from None
    host = root.find("host")
    if host is None:
        # nmap that stopped on an error (no raw socket in a container without CAP_NET_RAW)
        # still writes XML, and says why only in runstats
        finished = root.find("runstats/finished")
        why = finished.get("errormsg") if finished is not None else None
        if why:
            raise NmapError(FailureKind.ERROR, f"nmap failed: {why}")
        raise NmapError(FailureKind.ERROR, "nmap reported no result for the host")
    return xml, host


def parse_ports(host: ElementTree.Element) -> tuple[list[OpenPort], int, int]:
    """Open ports (with every CPE), and the closed and filtered counts, from one <host>."""
    open_ports: list[OpenPort] = []
    counts = {"closed": 0, "filtered": 0}
    ports = host.find("ports")
    if ports is None:
        return open_ports, 0, 0
    for extra in ports.findall("extraports"):
        state = extra.get("state", "")
        bucket = "closed" if state == "closed" else "filtered"
        counts[bucket] += int(extra.get("count", "0"))
    for port in ports.findall("port"):
        state_el = port.find("state")
        state = state_el.get("state", "") if state_el is not None else ""
        if state != "open":
            counts["closed" if state == "closed" else "filtered"] += 1
            continue
        svc = port.find("service")
        attrs = svc.attrib if svc is not None else {}
        probed = attrs.get("method") == "probed"
        open_ports.append(
            OpenPort(
                port=int(port.get("portid", "0")),
                protocol=port.get("protocol", "tcp"),
                service="" if attrs.get("name") in (None, "unknown") else attrs["name"],
                product=attrs.get("product", ""),
                version=attrs.get("version", ""),
                extrainfo=attrs.get("extrainfo", ""),
                tunnel=attrs.get("tunnel", ""),
                cpes=tuple(c.text or "" for c in svc.findall("cpe")) if svc is not None else (),
                method=attrs.get("method", "table"),
                version_status="identified"
                if probed
                else ("unrecognised" if "servicefp" in attrs else "not run"),
            )
        )
    return open_ports, counts["closed"], counts["filtered"]
