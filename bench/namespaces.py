"""A private network namespace for the bench (root only): the bench re-runs itself inside it,
where 127.0.9.9 (FILTERED_IP) is routed into a veth that drops everything, like a host behind
a DROP rule."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys

from fleet import FILTERED_IP

PY = sys.executable
NETNS_ENV = "BENCH_NETNS"  # set inside the namespace: its name


def netns_supported() -> bool:
    return os.geteuid() == 0 and shutil.which("ip") is not None


def rerun_in_netns(argv: list[str], script: str) -> int:
    """Re-run `script` inside a new network namespace with a silent 127.0.9.9."""
    ns, sink = f"hbench-{os.getpid()}", f"hbench-{os.getpid()}-sink"
    setup = [
        ["ip", "netns", "add", ns],
        ["ip", "netns", "add", sink],
        ["ip", "-n", ns, "link", "set", "lo", "up"],
        [
            "ip",
            "-n",
            ns,
            "link",
            "add",
            "fw0",
            "type",
            "veth",
            "peer",
            "name",
            "fw1",
            "netns",
            sink,
        ],
        ["ip", "-n", ns, "link", "set", "fw0", "up"],
        ["ip", "-n", sink, "link", "set", "fw1", "up"],
        # 127/8 may leave lo only with route_localnet; the peer drops frames not addressed to it
        ["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.conf.all.route_localnet=1"],
        ["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.conf.fw0.route_localnet=1"],
        ["ip", "-n", ns, "route", "add", f"{FILTERED_IP}/32", "dev", "fw0", "table", "local"],
        [
            "ip",
            "-n",
            ns,
            "neigh",
            "add",
            FILTERED_IP,
            "lladdr",
            "02:00:00:00:09:09",
            "dev",
            "fw0",
            "nud",
            "permanent",
        ],
    ]
    try:
        for cmd in setup:
            subprocess.run(cmd, check=True, capture_output=True)
        env = {**os.environ, NETNS_ENV: ns}
        child = subprocess.Popen(["ip", "netns", "exec", ns, PY, script, *argv], env=env)
        try:
            return child.wait()
        except KeyboardInterrupt:
            child.send_signal(signal.SIGINT)
            return child.wait()
    except subprocess.CalledProcessError as exc:
        print(f"cannot set up the network namespace ({' '.join(exc.cmd)}): {exc.stderr.decode()}")
        return 2
    finally:
        for name in (ns, sink):
            subprocess.run(["ip", "netns", "del", name], capture_output=True)


def filtered_host_silent() -> bool:
    try:
        socket.create_connection((FILTERED_IP, 443), timeout=1).close()
    except TimeoutError:
        return True
    except OSError:
        return False
    return False
