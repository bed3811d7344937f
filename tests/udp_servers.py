"""Real UDP daemons for the UDP tests: Debian's snmpd, memcached and dnsmasq, on loopback.

Each listens on its service's own port (161, 11211, 53) of its own 127.0.60.x address, because
nmap sends its UDP payloads by port number; binding those ports needs root, as -sU does.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from harness.lab.net_services import udp_bound


def need(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        pytest.skip(f"{binary} is not installed (scripts/setup.sh installs it)")
    return path


@contextmanager
def daemon(
    argv: list[str], host: str, port: int, env: dict[str, str] | None = None
) -> Iterator[None]:
    if udp_bound(host, port):
        pytest.skip(f"{host}:{port}/udp is already in use")
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
    )
    try:
        for _ in range(100):
            if udp_bound(host, port):
                break
            if proc.poll() is not None:
                raise RuntimeError(f"{argv[0]} exited: {proc.stderr.read().decode()[-500:]}")  # type: ignore[union-attr]
            time.sleep(0.05)
        else:
            raise RuntimeError(f"{argv[0]} did not bind {host}:{port}/udp")
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def snmpd(host: str, tmp: Path, rw_community: str) -> Iterator[None]:
    """net-snmp on host:161 with `public` read-only and a secret read-write community."""
    with snmpd_on(host, 161, tmp, rw_community, public=True):
        yield


@contextmanager
def snmpd_on(host: str, port: int, tmp: Path, rw_community: str, *, public: bool) -> Iterator[None]:
    binary = need("snmpd")
    conf = tmp / "snmpd.conf"
    # no sysLocation line: a configured sysLocation is read-only even for a rw community
    conf.write_text(
        ("rocommunity public default\n" if public else "")
        + f"rwcommunity {rw_community} default\n"
        + "sysDescr harness test agent (Debian net-snmp)\n"
    )
    conf.chmod(0o600)
    argv = [binary, "-f", "-C", "-c", str(conf), "-Lo", "-p", str(tmp / "snmpd.pid")]
    env = {"SNMP_PERSISTENT_DIR": str(tmp), "MIBS": "", "PATH": "/usr/sbin:/usr/bin:/bin"}
    with daemon([*argv, f"udp:{host}:{port}"], host, port, env):
        yield


@contextmanager
def memcached(host: str, port: int = 11211) -> Iterator[None]:
    binary = need("memcached")
    with daemon([binary, "-U", str(port), "-p", "0", "-l", host, "-u", "nobody"], host, port):
        yield


@contextmanager
def dnsmasq(host: str, tmp: Path) -> Iterator[None]:
    """dnsmasq answering anyone on 53/udp (no upstream: it cannot recurse off this machine)."""
    binary = need("dnsmasq")
    argv = [
        binary,
        "--keep-in-foreground",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        "--bind-interfaces",
        f"--listen-address={host}",
        "--port=53",
        f"--pid-file={tmp / 'dnsmasq.pid'}",
        "--address=/lab.test/127.0.0.1",
    ]
    with daemon(argv, host, 53):
        yield
