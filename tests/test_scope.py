"""Scope and injection: nothing in targets.yaml ever becomes an nmap, ssh or shell option, and
only declared single hosts are scanned (no CIDR ranges, address ranges or host lists).

Three layers: the inventory refuses hostile values with a message naming the key; the port
probe builds nmap's argv from fixed flags, a resolved IP address and a validated port spec
(checked on real nmap runs through a recording wrapper on PATH); and no code in harness/ runs a
shell or an unsafe YAML loader.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.errors import InventoryError
from harness.inventory import Settings, loads
from harness.probes.nmap_scan import scanner_argv
from harness.probes.ports import Budget, nmap_arguments, port_args
from harness.probes.udp import UdpBudget, udp_arguments, udp_port_args

ROOT = Path(__file__).parents[1]
HARNESS = ROOT / "harness"
SUITES = ROOT / "suites"

HOSTILE = [
    "-oN/tmp/x",
    "--script=http-title",
    "-iL /etc/passwd",
    "a;rm -rf /",
    "$(id)",
    "`id`",
    "a|b",
    "a&b",
    ">x",
    "127.0.0.1 -oN x",
    "127.0.0.1\n-oN x",
    "127.0.0.1\t--script x",
    "x'y",
    'x"y',
    "\\x",
    "",
]
RANGES = ["127.0.0.0/24", "127.0.0.1/32", "::1/128", "127.0.0.1-20", "127.0.0-3.1", "127.0.1.*"]
LISTS = ["a.example,b.example", "127.0.0.1,127.0.0.2"]
HOSTILE_PORTS = ["22 -iL x", "22;id", "-p-", "22,--script=x", "$(id)", "22 80", "1-65536", "top-x"]


def _doc(target: str) -> str:
    return f"version: 1\ntargets:\n  - name: web-01\n    host: 127.0.0.1\n{target}"


def _refused(text: str) -> str:
    with pytest.raises(InventoryError) as info:
        loads(text, "targets.yaml")
    message = info.value.render()
    assert "Traceback" not in message
    return message


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_host_is_refused(value: str) -> None:
    text = f"version: 1\ntargets:\n  - name: web-01\n    host: {json.dumps(value)}\n"
    assert "key 'host'" in _refused(text)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_name_is_refused(value: str) -> None:
    text = f"version: 1\ntargets:\n  - name: {json.dumps(value)}\n    host: 127.0.0.1\n"
    assert "key 'name'" in _refused(text)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_host_in_a_url_or_server_name_is_refused(value: str) -> None:
    url = _doc(f"    http: [{{url: {json.dumps('http://' + value + '/')}}}]\n")
    assert "url" in _refused(url)
    sni = _doc(f"    tls: [{{port: 443, server_name: {json.dumps(value)}}}]\n")
    assert "server_name" in _refused(sni)


@pytest.mark.parametrize("value", HOSTILE_PORTS)
def test_hostile_port_specs_are_refused(value: str) -> None:
    assert "ports.scan" in _refused(_doc(f"    ports: {{scan: {json.dumps(value)}}}\n"))
    assert "ports.udp" in _refused(_doc(f"    ports: {{udp: {json.dumps(value)}}}\n"))
    assert "ports.expected" in _refused(_doc(f"    ports: {{expected: [{json.dumps(value)}]}}\n"))
    assert "port" in _refused(_doc(f"    tls: [{{port: {json.dumps(value)}}}]\n"))
    assert "port" in _refused(_doc(f"    logins: [{{kind: ssh, port: {json.dumps(value)}}}]\n"))


@pytest.mark.parametrize(
    ("value", "words"), [*((r, "ranges") for r in RANGES), *((h, "lists") for h in LISTS)]
)
def test_ranges_and_host_lists_are_refused(value: str, words: str) -> None:
    message = _refused(f"version: 1\ntargets:\n  - name: web-01\n    host: {json.dumps(value)}\n")
    assert "key 'host'" in message
    if value != "127.0.1.*":  # a wildcard fails earlier: it is not a name at all
        assert f"{words} are not accepted" in message and "declare each host" in message


def test_a_yaml_list_of_hosts_is_refused() -> None:
    message = _refused("version: 1\ntargets:\n  - name: web-01\n    host: [a.example, b.example]\n")
    assert "key 'host'" in message


# ------------------------------------------------------------------------------ the nmap argv

FIXED = {"-sT", "-sU", "--privileged", "-Pn", "-n", "-T4", "--noninteractive", "-oX", "-"}
FIXED |= {"-sV", "-6", "-p-"}
WITH_VALUE = {"--max-retries", "--host-timeout", "--version-intensity", "-p", "--top-ports"}
_VALUE = re.compile(r"^(\d+|\d+(ms|s)|\d{1,5}(-\d{1,5})?(,\d{1,5}(-\d{1,5})?)*)$")


def assert_only_our_flags(argv: list[str], address: str) -> None:
    """nmap, then exactly one IP address (where python-nmap puts hosts: after -oX -) among our
    flags and their numeric values."""
    assert argv.count(address) == 1 and argv[3] == address, argv
    rest = argv[1:3] + argv[4:]
    i = 0
    while i < len(rest):
        flag = rest[i]
        if flag in WITH_VALUE:
            assert _VALUE.match(rest[i + 1]), (flag, rest[i + 1])
            i += 2
        else:
            assert flag in FIXED, flag
            i += 1


def nmap_argv(address: str, ports: list[str], budget: Budget, versions: bool = False) -> list[str]:
    """The argv run_nmap runs for one TCP scan of the ports probe (its flags, then nmap's order;
    test_real_nmap_runs_get_only_our_flags reads the real one)."""
    return scanner_argv("nmap", address, nmap_arguments(address, ports, budget, versions=versions))


def udp_argv(address: str, ports: list[str], budget: UdpBudget, **options: Any) -> list[str]:
    """The same for one UDP scan (options as udp_arguments)."""
    return scanner_argv("nmap", address, udp_arguments(address, ports, budget, **options))


@pytest.mark.parametrize("spec", ["top-1000", "all", "22,80-90", 443, [22, "8000-8100"]])
@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
@pytest.mark.parametrize("versions", [False, True])
def test_nmap_argv_holds_only_our_flags(spec: object, address: str, versions: bool) -> None:
    budget = Budget.of(Settings(timeout=2))
    argv = nmap_argv(address, port_args(spec), budget, versions=versions)  # type: ignore[arg-type]
    assert argv[0] == "nmap"
    assert_only_our_flags(argv, address)


@pytest.mark.parametrize("spec", ["risky", "top-20", "53,161", 11211])
@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
@pytest.mark.parametrize("versions", [False, True])
def test_udp_argv_holds_only_our_flags(spec: str, address: str, versions: bool) -> None:
    _, ports = udp_port_args(spec)
    for privileged in (False, True):
        argv = udp_argv(
            address,
            ports,
            UdpBudget.of(Settings(timeout=2)),
            versions=versions,
            privileged=privileged,
        )
        assert argv[0] == "nmap"
        assert_only_our_flags(argv, address)


@pytest.mark.parametrize("address", [*HOSTILE, "localhost", "www.example.com", "127.0.0.0/24"])
def test_nmap_argv_refuses_anything_but_an_ip_address(address: str) -> None:
    with pytest.raises(ValueError):
        nmap_argv(address, ["-p", "22"], Budget.of(Settings()))
    with pytest.raises(ValueError):
        udp_argv(address, ["-p", "161"], UdpBudget.of(Settings()))


@pytest.mark.parametrize("spec", HOSTILE_PORTS)
def test_port_args_refuses_hostile_specs(spec: str) -> None:
    with pytest.raises(ValueError):
        port_args(spec)


@pytest.mark.skipif(shutil.which("nmap") is None, reason="nmap is not installed")
def test_real_nmap_runs_get_only_our_flags(tmp_path: Path) -> None:
    """The ports suite end to end, with a wrapper that records each argv, then runs nmap."""
    log = tmp_path / "argv.jsonl"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "nmap"
    wrapper.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"with open({str(log)!r}, 'a') as f:\n"
        "    f.write(json.dumps(sys.argv[1:]) + '\\n')\n"
        f"os.execv({shutil.which('nmap')!r}, [{shutil.which('nmap')!r}, *sys.argv[1:]])\n"
    )
    wrapper.chmod(0o755)
    (tmp_path / "targets.yaml").write_text(
        "version: 1\ndefaults: {timeout: 2}\ntargets:\n"
        "  - name: oN.tmp.x\n    host: localhost\n    ports: {expected: [], scan: '1,2-3'}\n"
        "  - name: script-http-title\n    host: 127.0.0.3\n    ports: {expected: [], scan: top-5}\n"
    )
    shutil.copy(SUITES / "test_ports.py", tmp_path / "test_ports.py")
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "test_ports.py", "--targets", "targets.yaml", "-q"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    runs = [json.loads(line) for line in log.read_text().splitlines()]
    runs = [argv for argv in runs if argv != ["-V"]]  # python-nmap asks nmap its version first
    assert len(runs) >= 2, proc.stdout[-2000:]
    for argv in runs:
        address = argv[2]
        assert address in ("127.0.0.1", "::1", "127.0.0.3"), argv  # localhost resolved here
        assert_only_our_flags(["nmap", *argv], address)
        assert not any(word in " ".join(argv) for word in ("oN.tmp.x", "script", "localhost"))


# ------------------------------------------------------------------------- no shell, safe YAML


def _calls(path: Path) -> list[tuple[str, ast.Call]]:
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            found.append((ast.unparse(node.func), node))
    return found


SOURCES = sorted(HARNESS.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_shell_and_no_unsafe_yaml_in_the_harness(path: Path) -> None:
    for name, call in _calls(path):
        assert name not in (
            "os.system",
            "os.popen",
            "subprocess.getoutput",
            "subprocess.getstatusoutput",
        ), (path, call.lineno)
        assert not any(
            k.arg == "shell" and not (isinstance(k.value, ast.Constant) and k.value.value is False)
            for k in call.keywords
        ), (path, call.lineno, "shell=")
        if name.startswith("subprocess.") and call.args:
            # a command is a list of arguments, never one string for a shell to split
            assert not isinstance(call.args[0], ast.Constant | ast.JoinedStr), (path, call.lineno)
        assert name not in ("yaml.load", "yaml.unsafe_load", "yaml.full_load", "yaml.load_all"), (
            path,
            call.lineno,
        )
