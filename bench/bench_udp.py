"""UDP scan time per host: `sudo .venv/bin/python bench/bench_udp.py` (nmap -sU needs root).

Scans the shipped risky-UDP list (ports.udp: risky, timeout 5 s) on loopback hosts shaped like
the common cases: nothing listening, one UDP service answering, ports that swallow every
datagram (as behind a firewall that drops UDP). Prints wall seconds per host, three runs each.
"""

from __future__ import annotations

import shutil
import sys
import time

from harness.errors import ProbeFailure
from harness.inventory import Settings
from harness.lab.udp_services import NtpServer, SilentPort, SnmpAgent
from harness.probes.udp import scan_udp


def main() -> int:
    nmap = shutil.which("nmap")
    if nmap is None:
        print("nmap is not installed", file=sys.stderr)
        return 1
    hosts = {
        "nothing listening": ("127.0.61.1", []),
        "SNMP + NTP answering": (
            "127.0.61.2",
            [SnmpAgent("127.0.61.2", 161), NtpServer("127.0.61.2", 123)],
        ),
        "2 ports swallowing": ("127.0.61.3", [SilentPort("127.0.61.3", p) for p in (161, 623)]),
        "all 8 swallowing": (
            "127.0.61.4",
            [SilentPort("127.0.61.4", p) for p in (53, 69, 123, 137, 161, 623, 1900, 11211)],
        ),
    }
    settings = Settings(timeout=5)
    print(f"{'host':<24}{'run 1':>8}{'run 2':>8}{'run 3':>8}  result")
    for name, (address, _servers) in hosts.items():
        times, last = [], None
        for _ in range(3):
            start = time.monotonic()
            last = scan_udp(nmap, address, "risky", settings, name)
            times.append(time.monotonic() - start)
        if isinstance(last, ProbeFailure):
            shown = f"broken: {last.reason[:60]}"
        else:
            assert last is not None
            shown = (
                f"open {[p.port for p in last.open_ports]}, open|filtered "
                f"{list(last.open_filtered)}, closed {last.closed}"
            )
        print(f"{name:<24}" + "".join(f"{t:>8.1f}" for t in times) + f"  {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
