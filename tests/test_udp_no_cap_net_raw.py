"""A container runs the harness as root but without CAP_NET_RAW: nmap -sU cannot open its raw
socket, says so only in its XML's runstats, and the UDP check must be broken with the fix
(setcap, or `udp: none`), not "nmap reported no result for the host".

The real nmap, started through setpriv with CAP_NET_RAW and CAP_NET_ADMIN dropped from its
bounding set (for root, the capabilities it gets at exec).
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from harness.errors import ProbeFailure
from harness.inventory import Settings
from harness.probes.udp import RAW_SOCKET_HINT, scan_udp

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="root without CAP_NET_RAW is the case")


def _nmap_without_raw_sockets(tmp: Path) -> Path:
    setpriv, nmap = shutil.which("setpriv"), shutil.which("nmap")
    if setpriv is None or nmap is None:
        pytest.skip("setpriv (util-linux) and nmap are needed")
    wrapper = tmp / "nmap-no-cap-net-raw"
    wrapper.write_text(
        f"#!/bin/sh\nexec {setpriv} --inh-caps=-net_raw,-net_admin "
        f'--bounding-set=-net_raw,-net_admin {nmap} "$@"\n'
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return wrapper


def test_udp_scan_without_cap_net_raw_is_broken_with_the_fix(tmp_path: Path) -> None:
    nmap = _nmap_without_raw_sockets(tmp_path)
    result = scan_udp(str(nmap), "127.0.0.1", "161", Settings(timeout=2), "probe (127.0.0.1)")
    assert isinstance(result, ProbeFailure), result
    assert "raw socket" in result.reason
    assert RAW_SOCKET_HINT in result.reason
    assert "setcap cap_net_raw,cap_net_admin+eip" in result.reason and "udp: none" in result.reason
