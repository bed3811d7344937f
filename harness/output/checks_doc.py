"""The checks reference, generated from the catalogue (harness/data/checks.yaml) and the
registry of deciding policy functions: `harness checks --explain ID` prints one entry,
`harness checks --markdown` the whole of docs/checks.md (tests/test_checks_doc.py fails when the
file and the catalogue differ)."""

from __future__ import annotations

import importlib
import pkgutil

from harness.checks import DECIDERS, Area, Check, catalogue
from harness.output.result_page import reference_name

# How each area measures, and what leaves a result "broken" (could not measure) rather than
# passed: a pass needs a measurement.
MEASURED = {
    Area.TLS: "sslyze connects to the endpoint, on every address of its name, with the declared "
    "SNI (and STARTTLS where declared), and runs its scan commands: a handshake per protocol "
    "version and cipher suite, the certificate chain and its trust, the vulnerability probes, "
    "and the HTTP headers for HSTS; one hand-written TLS 1.3 ClientHello asks for a hybrid "
    "post-quantum group. The result is judged against the declared Mozilla profile "
    "(tls_profile) and the target's settings.",
    Area.PORTS: "nmap connect-scans (-sT) the declared ports.scan range on every address of the "
    "target's name, then identifies each open port's service (-sV); UDP ports are probed with "
    "-sU when the run has root. Open ports are judged against ports.expected and the list of "
    "risky services.",
    Area.BANNERS: "The greeting or HTTP headers of each open port (and nmap -sV's answer) are "
    "read, and each product and version is matched against the shipped software catalogue; "
    "distro-packaged builds are judged by their distro's support window (backports).",
    Area.LOGINS: "The declared login endpoint (HTTP basic, HTTP form, FTP, SSH, SNMP) is tried "
    "within login_attempt_budget attempts, the likeliest pairs first, stopping at any sign of "
    "lockout; a random, certainly wrong password is tried too, so an endpoint that accepts "
    "anything is not taken for a weak one. Credentials are masked in every output.",
    Area.SSH: "The SSH server's version line and KEXINIT are read (every algorithm list in the "
    "server's order, and strict key exchange), one key exchange per host key type reads each "
    "key's type and size, and a group exchange is asked for a 1024-bit group. No login is "
    "attempted and no credential is sent. The lists are judged against harness/data/"
    "ssh_policy.yaml.",
}
BROKEN = {
    Area.TLS: "The endpoint did not complete a TLS handshake within the target's timeout "
    "(closed, filtered, not TLS, or a wrong STARTTLS protocol), the name did not resolve, or "
    "the scan command this check needs failed. The reason names which, and what to change.",
    Area.PORTS: "nmap is missing, the host did not answer within nmap's host timeout (nmap then "
    "reports no ports, which is never read as 'nothing open'), or the name did not resolve.",
    Area.BANNERS: "The port scan it reads failed, or no open port gave a greeting or header "
    "within the timeout.",
    Area.LOGINS: "The endpoint did not answer, its answers could not be told apart (a wrong "
    "password 'accepted' as well: an ambiguous endpoint), or it pointed the probe to a "
    "destination outside the declared scope.",
    Area.SSH: "The port did not answer, did not speak SSH, sent a malformed or oversized packet, "
    "or left a key exchange unanswered within the timeout, so the algorithms or host keys this "
    "check needs were not read.",
}


def deciders() -> dict[str, str]:
    """check id -> the policy function deciding it, by name (imports every policy module)."""
    import harness.policy

    for info in pkgutil.walk_packages(harness.policy.__path__, "harness.policy."):
        importlib.import_module(info.name)
    return {cid: f"{f.__module__}.{f.__qualname__}" for cid, f in DECIDERS.items()}


def entry(check: Check, decided_by: str, level: str = "##") -> str:
    """One check's reference entry, in Markdown."""
    refs = ", ".join(f"[{reference_name(u)}]({u})" for u in check.references) or "none"
    return "\n".join(
        [
            f"{level} `{check.id}`: {check.title}",
            "",
            f"- **Area:** {check.area.value}",
            f"- **Severity:** {check.severity.value} (the default; a finding may carry its own)",
            f"- **Decided by:** `{decided_by or 'no policy function'}`",
            "",
            f"**What it means.** {check.description}",
            "",
            f"**How it is measured.** {MEASURED[check.area]}",
            "",
            f"**How to fix.** {check.remediation}",
            "",
            f"**What makes it broken (could not measure).** {BROKEN[check.area]}",
            "",
            f"**References.** {refs}",
            "",
        ]
    )


def explain(check_id: str) -> str | None:
    """One check's entry, for the terminal; None for an unknown id."""
    check = catalogue().get(check_id)
    if check is None:
        return None
    return entry(check, deciders().get(check_id, ""), level="#")


def markdown() -> str:
    """docs/checks.md: an index table, then every check's entry, in catalogue order."""
    checks = list(catalogue().values())
    by = deciders()
    lines = [
        "# Checks reference",
        "",
        "Generated from `harness/data/checks.yaml` and the policy registry by",
        "`harness checks --markdown > docs/checks.md`; do not edit by hand",
        "(`tests/test_checks_doc.py` fails when this file and the catalogue differ).",
        "One check: `harness checks --explain ID`.",
        "",
        "| Check | Area | Severity | Title |",
        "|---|---|---|---|",
        *(f"| `{c.id}` | {c.area.value} | {c.severity.value} | {c.title} |" for c in checks),
        "",
    ]
    for check in checks:
        lines.append(entry(check, by.get(check.id, "")))
    return "\n".join(lines)
