"""The ssh area beside ssh-audit, on the same loopback servers: time per endpoint and verdicts.

`sudo .venv/bin/python bench/bench_ssh.py [--repeat 5] [--ssh-audit CMD ...]`
(root: Debian's sshd is started with test configs). Servers: Debian's OpenSSH hardened, with
Debian's default config, and legacy; paramiko's server without strict key exchange (CBC + EtM);
paramiko's server with a 1024-bit moduli file. For each, the harness's ssh probe
(harness.probes.ssh.measure: every connection it makes) and each ssh-audit given run `repeat`
times; the median and slowest wall seconds are printed. ssh-audit 3.x runs with
`--skip-rate-test` (its DHEat connection-rate test is a load test the harness does not do).

Verdicts: the harness's six checks against the newest ssh-audit's JSON notes, mapped per check
(kex, key, enc, mac sections; notes naming post-quantum or Terrapin go to those checks). A
check is "fail" with a finding of medium or worse (ssh-audit: a fail note), "warn" with only
low or info findings (ssh-audit: warn notes only), else "pass".
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from ssh_servers import (
    HARDENED,
    HOST,
    LEGACY,
    ParamikoServer,
    Sshd,
    sshd_available,
)

from harness.areas import define_checks
from harness.checks import DEFINITIONS, Severity, catalogue, get_check
from harness.probes.ssh import measure

define_checks("ssh")  # every SSH check, read from the registry
CHECKS: dict[str, Callable[..., Any]] = {
    c.id: DEFINITIONS[c.id].decide for c in catalogue().values() if c.area == "ssh"
}
SECTIONS = {"kex": "ssh.kex", "key": "ssh.host_keys", "enc": "ssh.ciphers", "mac": "ssh.macs"}
OAKLEY_2 = (
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E"
    "3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF"
    "5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF"
)


def start_servers(work: Path) -> dict[str, tuple[int, Any]]:
    servers: dict[str, tuple[int, Any]] = {}
    if sshd_available() is None:
        for name, keys, config in (
            ("openssh-hardened", {"ed25519": 256, "rsa": 4096}, HARDENED),
            ("openssh-default", {"ed25519": 256, "rsa": 3072, "ecdsa": 256}, ""),
            ("openssh-legacy", {"dsa": 1024, "rsa": 1024, "ed25519": 256}, LEGACY),
        ):
            server = Sshd(work / name, keys, config)
            servers[name] = (server.port, server)
    else:
        print(f"skipping OpenSSH: {sshd_available()}", file=sys.stderr)
    cbc_etm = ParamikoServer(("aes128-ctr", "aes128-cbc"), ("hmac-sha2-256-etm@openssh.com",))
    servers["paramiko-no-strict-kex"] = (cbc_etm.port, cbc_etm)
    moduli = work / "moduli"
    moduli.write_text(f"20240101000000 2 6 100 1023 2 {OAKLEY_2}\n")
    small = ParamikoServer(
        ("aes128-ctr",), ("hmac-sha2-256-etm@openssh.com",), strict_kex=True, moduli=moduli
    )
    servers["paramiko-1024-bit-gex"] = (small.port, small)
    return servers


def ours(port: int) -> tuple[float, dict[str, tuple[str, list[str]]]]:
    start = time.monotonic()
    scan = measure(HOST, port, f"{HOST}:{port}", 5, 5)
    seconds = time.monotonic() - start
    verdicts: dict[str, tuple[str, list[str]]] = {}
    for check, decide in CHECKS.items():
        verdict = decide(scan, SimpleNamespace(where=f"{HOST}:{port}"))  # they read only the scan
        ranks = [(f.severity or get_check(check).severity).rank for f in verdict.findings]
        level = "pass" if not ranks else "fail" if max(ranks) >= Severity.MEDIUM.rank else "warn"
        verdicts[check] = (level, [f.key for f in verdict.findings])
    return seconds, verdicts


def audit(cmd: list[str], port: int) -> tuple[float, dict[str, Any] | None]:
    start = time.monotonic()
    proc = subprocess.run(
        [*cmd, "-j", "-t", "5", "-p", str(port), HOST], capture_output=True, text=True, timeout=120
    )
    seconds = time.monotonic() - start
    try:
        return seconds, json.loads(proc.stdout)
    except json.JSONDecodeError:
        return seconds, None


def audit_verdicts(report: dict[str, Any]) -> dict[str, tuple[str, list[str]]]:
    """ssh-audit 3.x notes, per harness check."""
    levels: dict[str, set[str]] = {c: set() for c in CHECKS}
    names: dict[str, list[str]] = {c: [] for c in CHECKS}
    classical = 0
    kex_entries = [e for e in report.get("kex", []) if "strict" not in e["algorithm"]]
    for section, check in SECTIONS.items():
        for entry in report.get(section, []):
            notes = entry.get("notes", {})
            for level in ("fail", "warn"):
                for note in notes.get(level, []):
                    if "post-quantum" in note:
                        classical += 1
                        continue
                    target = "ssh.terrapin" if "Terrapin" in note else check
                    levels[target].add(level)
                    if entry["algorithm"] not in names[target]:
                        names[target].append(entry["algorithm"])
    if kex_entries and classical >= len(kex_entries):  # every key exchange lacks post-quantum
        levels["ssh.post_quantum"].add("warn")
    return {
        c: ("fail" if "fail" in lv else "warn" if lv else "pass", names[c])
        for c, lv in levels.items()
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--ssh-audit",
        action="append",
        default=None,
        help="an ssh-audit command (repeatable); the last one given judges the verdicts",
    )
    args = parser.parse_args()
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)  # servers hung up on mid-exchange
    audits = args.ssh_audit or ([shutil.which("ssh-audit")] if shutil.which("ssh-audit") else [])
    commands = [[a, "--skip-rate-test"] if _is_v3(a) else [a] for a in audits if a]
    work = Path(tempfile.mkdtemp(prefix="bench-ssh-"))
    servers = start_servers(work)
    try:
        return _run(servers, commands, args.repeat)
    finally:
        for _, server in servers.values():
            server.close()
        shutil.rmtree(work, ignore_errors=True)


def _is_v3(cmd: str) -> bool:
    out = subprocess.run([cmd, "-h"], capture_output=True, text=True, timeout=30).stdout
    return "--skip-rate-test" in out


def _version(cmd: list[str]) -> str:
    out = subprocess.run([cmd[0], "-h"], capture_output=True, text=True, timeout=30).stdout
    line = next((ln for ln in out.splitlines() if "ssh-audit v" in ln), cmd[0])
    return "ssh-audit " + line.partition("ssh-audit ")[2].partition(",")[0]


def _run(servers: dict[str, tuple[int, Any]], commands: list[list[str]], repeat: int) -> int:
    names = ["harness ssh probe", *(_version(c) for c in commands)]
    print(f"wall seconds per endpoint, {repeat} runs each (median / slowest)")
    print(f"{'server':<26}" + "".join(f"{n[:24]:>26}" for n in names))
    verdicts: dict[str, tuple[dict[str, Any], dict[str, Any] | None]] = {}
    for name, (port, _) in servers.items():
        cells = []
        times = []
        for _ in range(repeat):
            seconds, mine = ours(port)
            times.append(seconds)
        cells.append(times)
        report = None
        for cmd in commands:
            runs = []
            for _ in range(repeat):
                seconds, report = audit(cmd, port)
                runs.append(seconds)
            cells.append(runs)
        verdicts[name] = (mine, report)
        row = "".join(f"{statistics.median(c):>17.3f} / {max(c):6.3f}" for c in cells)
        print(f"{name:<26}{row}")
    if not commands:
        return 0
    print(f"\nverdicts: harness vs {names[-1]} (pass / warn / fail; what each flagged)")
    disagree = 0
    for name, (mine, report) in verdicts.items():
        theirs = audit_verdicts(report) if report else {}
        for check in CHECKS:
            a, b = mine[check], theirs.get(check, ("?", []))
            same = (a[0] == "pass") == (b[0] == "pass")
            disagree += not same
            nist = [n for n in b[1] if "nistp" in n]
            shown = [n for n in b[1] if "nistp" not in n] + (["NIST P-curves"] if nist else [])
            mark = "  " if same else "!="
            print(
                f"{mark} {name:<24}{check:<18}{a[0]:<5} {', '.join(a[1])[:60]:<62}"
                f"{b[0]:<5} {', '.join(shown)[:80]}"
            )
    print(f"\n{disagree} check verdict(s) differ on pass versus not pass")
    return 0


if __name__ == "__main__":
    sys.exit(main())
