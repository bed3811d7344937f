"""The named TLS vulnerabilities beside testssl.sh's verdicts on the same real servers.

Starts the servers that can run here (a legacy Python ssl server: TLS 1.0-1.2, CBC, static RSA,
RFC 2409's 1024-bit DH group; a strong TLS 1.2/1.3 server), runs `testssl -U --jsonfile` on
each (Debian's testssl.sh 3.0.8) and the harness's TLS suite on all of them, and prints one
table row per (server, vulnerability): testssl's severity and finding, the harness's status,
and whether they agree. SSLv2, SSLv3, EXPORT, RC4 and 3DES servers cannot run here (Debian's
OpenSSL 3 has none of them), so those rows show agreement on "not offered" only.

    .venv/bin/python bench/named_vs_testssl.py --markdown bench/named-vs-testssl.md
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from tls_servers import HOST, https_server, legacy_context, make_pki, strong_context  # noqa: E402

# testssl.sh -U ids -> the harness's check
PAIRS = {
    "SWEET32": "tls.vuln.sweet32",
    "FREAK": "tls.vuln.freak",
    "LOGJAM": "tls.vuln.logjam",
    "LOGJAM-common_primes": "tls.vuln.logjam",
    "DROWN": "tls.vuln.drown",
    "POODLE_SSL": "tls.vuln.poodle",
    "RC4": "tls.vuln.rc4",
    "BEAST": "tls.vuln.beast",
    "LUCKY13": "tls.vuln.lucky13",
}
CLEAN = {"OK", "INFO"}  # testssl severities that mean "not vulnerable"


def testssl(port: int, out: Path) -> tuple[dict[str, tuple[str, str]], float]:
    start = time.monotonic()
    subprocess.run(
        [
            *("testssl", "--quiet", "--color", "0", "--warnings", "off", "-U"),
            *("--jsonfile", str(out), f"{HOST}:{port}"),
        ],
        capture_output=True,
        timeout=900,
        check=False,
    )
    seconds = time.monotonic() - start
    rows = json.loads(out.read_text()) if out.exists() else []
    return {r["id"]: (r["severity"], r["finding"]) for r in rows if r["id"] in PAIRS}, seconds


def harness(d: Path, ports: dict[str, int]) -> tuple[dict[tuple[str, str], str], float]:
    lines = ["version: 1", "defaults: {timeout: 5}", "targets:"]
    for name, port in ports.items():
        lines += [f"  - name: {name}", f"    host: {HOST}", f"    tls: [{{port: {port}}}]"]
    (d / "targets.yaml").write_text("\n".join(lines) + "\n")
    shutil.copy(ROOT / "suites" / "test_tls.py", d / "test_tls.py")
    start = time.monotonic()
    subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "test_tls.py", "--targets", "targets.yaml"),
            *("-p", "no:cacheprovider", "-q", "--summary-json", "summary.json", "-k", "vuln"),
        ],
        cwd=d,
        capture_output=True,
        timeout=600,
        check=False,
    )
    seconds = time.monotonic() - start
    results = json.loads((d / "summary.json").read_text())["results"]
    return {(r["target"], r["check"]): r["status"] for r in results}, seconds


def tls10_evidence(port: int) -> str:
    """A TLS 1.0 handshake with CBC, by Debian's openssl at security level 0 (its default
    level refuses TLS 1.0, which is why testssl.sh 3.0.8 on this machine sees none)."""
    proc = subprocess.run(
        [
            *("openssl", "s_client", "-connect", f"{HOST}:{port}", "-tls1"),
            *("-cipher", "ALL:@SECLEVEL=0", "-brief"),
        ],
        input="",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    keep = ("Protocol version", "Ciphersuite", "CONNECTION ESTABLISHED")
    lines = (proc.stdout + proc.stderr).splitlines()
    return "\n".join(line for line in lines if line.startswith(keep))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    d = Path(tempfile.mkdtemp(prefix="named-"))
    pki = make_pki(d)
    servers = {
        "legacy": https_server(legacy_context(pki.leaf("legacy", ["legacy.test"]), d), hsts=None),
        "strong": https_server(strong_context(pki.leaf("strong", ["strong.test"]))),
    }
    ports = {name: port for name, (port, _) in servers.items()}
    try:
        ours, our_seconds = harness(d, ports)
        theirs = {}
        seconds = {}
        for name, port in ports.items():
            theirs[name], seconds[name] = testssl(port, d / f"{name}.json")
        evidence = tls10_evidence(ports["legacy"])
    finally:
        for _, server in servers.values():
            server.shutdown()
    lines = [
        "# Named TLS vulnerabilities: the harness beside testssl.sh 3.0.8",
        "",
        f"Command: `.venv/bin/python bench/named_vs_testssl.py` ({time.strftime('%Y-%m-%d')}).",
        f"testssl.sh -U: {', '.join(f'{n} {s:.0f} s' for n, s in seconds.items())}; "
        f"the harness's TLS suite (-k vuln), both servers in one run: {our_seconds:.1f} s.",
        "One harness check can answer several testssl ids (LOGJAM and LOGJAM-common_primes):",
        "they agree when the check fails exactly when any of its ids reports a vulnerability.",
        "",
        "| server | harness check | harness | testssl ids: severity, finding | agree |",
        "|---|---|---|---|---|",
    ]
    disagree = 0
    for name in ports:
        for check in dict.fromkeys(PAIRS.values()):
            ids = [t for t, c in PAIRS.items() if c == check and t in theirs[name]]
            status = ours.get((name, check), "(no result)")
            said = "; ".join(f"{t}: {theirs[name][t][0]}, {theirs[name][t][1][:60]}" for t in ids)
            if not ids:
                agree = "n/a"
            else:
                vulnerable = any(theirs[name][t][0] not in CLEAN for t in ids)
                agree = "yes" if vulnerable == (status == "failed") else "**no**"
                disagree += agree != "yes"
            lines.append(f"| {name} | {check} | {status} | {said or '(not reported)'} | {agree} |")
    lines += ["", f"Disagreements: {disagree}.", "", "Evidence for TLS 1.0 on the legacy server:"]
    lines += ["", "```", evidence, "```"]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        args.markdown.write_text(text)


if __name__ == "__main__":
    main()
