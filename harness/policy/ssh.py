"""SSH transport policy: what an SSH server offers before any key is agreed, judged against
harness/data/ssh_policy.yaml (Mozilla's OpenSSH guidelines, ssh-audit's algorithm notes, BSI
TR-02102-4, RFC 9142). Each finding names the algorithm and why; the notes say who is affected
and give the sshd_config line that removes every flagged name at once.
"""

from __future__ import annotations

from harness.checks import Area, Severity, check, judged_by_default
from harness.errors import CouldNotMeasure, FailureKind, ProbeFailure
from harness.outcome import Finding, Verdict
from harness.policy.ssh_rules import Section, SshPolicy, load
from harness.probes.ssh_model import STRICT_KEX_SERVER, SshScan
from harness.subject import Subject

CHACHA = "chacha20-poly1305@openssh.com"
_ETM = "-etm@openssh.com"


def _offered(
    names: tuple[str, ...],
    section: Section,
    what: str,
    extra: list[Finding] | None = None,
    also_remove: list[str] | None = None,
) -> Verdict:
    """One finding per offered name a rule flags, in server order, then `extra` findings; the
    fix line removes the flagged names and `also_remove`."""
    findings: list[Finding] = []
    flagged: list[str] = []
    for name in names:
        rule = section.rule_for(name)
        if rule is not None:
            flagged.append(name)
            findings.append(Finding(f"offers {name} ({rule.reason})", rule.severity, key=name))
    findings += extra or []
    flagged += also_remove or []
    notes = [f"offered {what}, in server order: {', '.join(names) or 'none'}"]
    if flagged:
        notes += [
            f"Who is affected: {section.affected}",
            f"sshd_config: {section.fix.format(names=','.join(flagged))}",
        ]
    return Verdict(findings=tuple(findings), notes=tuple(notes), labels=_labels())


def _labels(policy: SshPolicy | None = None) -> dict[str, str]:
    return {"ssh_policy": (policy or load()).date}


def _unmeasured(scan: SshScan, reason: str) -> CouldNotMeasure:
    return CouldNotMeasure(ProbeFailure(FailureKind.PROTOCOL, scan.where, reason))


@check("ssh.kex")
def kex(scan: SshScan, subject: Subject, *, policy: SshPolicy | None = None) -> Verdict:
    p = policy or load()
    extra: list[Finding] = []
    gex = [k for k in scan.kex if k.startswith("diffie-hellman-group-exchange-")]
    bits = scan.gex_small_group_bits
    if gex and bits is not None and bits < p.gex_min_bits:
        extra.append(
            Finding(
                f"{gex[0]} hands out a {bits}-bit group to a client that asks for 1024 bits "
                f"(under {p.gex_min_bits}: precomputation of the group breaks its exchanges, "
                f"Logjam). Fixed by: {p.gex_fix}",
                Severity.HIGH,
                key=f"{gex[0]}: {bits}-bit group",
            )
        )
    verdict = _offered(scan.kex, p.kex, "key exchanges", extra)
    if gex and scan.gex_refused_small is None and bits is None:
        if not verdict.findings:
            raise _unmeasured(
                scan,
                f"the server offers {gex[0]}, but the probe could not learn whether it hands "
                f"out small groups ({'; '.join(scan.notes) or 'no answer'}). Fix: rerun; raise "
                "the target's timeout if the server is slow",
            )
    elif gex and scan.gex_refused_small:
        verdict = _note(verdict, f"{gex[0]} refused to hand out a 1024-bit group")
    return verdict


@check("ssh.host_keys")
def host_keys(scan: SshScan, subject: Subject, *, policy: SshPolicy | None = None) -> Verdict:
    p = policy or load()
    extra: list[Finding] = []
    for key in scan.host_keys:
        if key.key_type != "ssh-rsa" or key.bits >= p.rsa_warn_below:
            continue
        fails = key.bits < p.rsa_fail_below
        limit = p.rsa_fail_below if fails else p.rsa_warn_below
        extra.append(
            Finding(
                f"holds a {key.bits}-bit RSA host key (under {limit} bits). Fixed by: {p.key_fix}",
                Severity.HIGH if fails else Severity.LOW,
                key=f"ssh-rsa {key.bits} bits",
            )
        )
    verdict = _offered(scan.host_key_algorithms, p.host_keys, "host key algorithms", extra)
    held = ", ".join(f"{k.key_type} {k.bits} bits" for k in scan.host_keys)
    verdict = _note(verdict, f"host keys held: {held or 'none read'}")
    if scan.unread:
        why = "; ".join(scan.unread)
        if not verdict.findings:
            raise _unmeasured(
                scan,
                f"some host keys could not be read, so their sizes are unknown ({why}). Fix: "
                "rerun if the server was busy; a server that offers none of curve25519, "
                "ecdh-sha2-nistp256 or a fixed Diffie-Hellman group (the exchanges the probe "
                "reads keys with) cannot be measured here",
            )
        verdict = _note(verdict, f"not read: {why}")
    return verdict


@check("ssh.ciphers")
def ciphers(scan: SshScan, subject: Subject, *, policy: SshPolicy | None = None) -> Verdict:
    return _offered(scan.ciphers, (policy or load()).ciphers, "ciphers")


@check("ssh.macs")
def macs(scan: SshScan, subject: Subject, *, policy: SshPolicy | None = None) -> Verdict:
    p = policy or load()
    extra: list[Finding] = []
    em: list[str] = []
    for name in scan.macs:
        etm = name.removesuffix("@openssh.com") + _ETM
        if name.endswith(_ETM) or p.macs.rule_for(name) is not None or etm not in _ETM_KNOWN:
            continue
        reason = p.etm_reason.format(etm=etm)
        extra.append(Finding(f"offers {name} ({reason})", p.etm_severity, key=name))
        em.append(name)
    return _offered(scan.macs, p.macs, "MACs", extra, em)


# encrypt-then-MAC forms OpenSSH defines; an E&M MAC without one has no better form to point at
_ETM_KNOWN = {
    "hmac-sha1-etm@openssh.com",
    "hmac-sha1-96-etm@openssh.com",
    "hmac-sha2-256-etm@openssh.com",
    "hmac-sha2-512-etm@openssh.com",
    "hmac-md5-etm@openssh.com",
    "hmac-md5-96-etm@openssh.com",
    "umac-64-etm@openssh.com",
    "umac-128-etm@openssh.com",
    "hmac-ripemd160-etm@openssh.com",
}


@check("ssh.terrapin")
def terrapin(scan: SshScan, subject: Subject, *, policy: SshPolicy | None = None) -> Verdict:
    p = policy or load()
    exposed: list[str] = []
    if CHACHA in scan.ciphers:
        exposed.append(CHACHA)
    etm = [m for m in scan.macs if m.endswith(_ETM)]
    cbc = [c for c in scan.ciphers if "-cbc" in c]
    if etm and cbc:
        exposed.append(f"{', '.join(cbc)} with {', '.join(etm)}")
    if scan.strict_kex:
        return Verdict(
            notes=(f"offers strict key exchange ({STRICT_KEX_SERVER}), which closes Terrapin",),
            labels=_labels(p),
        )
    if not exposed:
        return Verdict(
            notes=(
                f"no strict key exchange ({STRICT_KEX_SERVER}), but neither {CHACHA} nor an "
                "encrypt-then-MAC MAC with a CBC cipher is offered, so Terrapin does not apply",
            ),
            labels=_labels(p),
        )
    text = (
        f"offers {' and '.join(exposed)} without strict key exchange ({STRICT_KEX_SERVER}): "
        f"open to Terrapin prefix truncation (CVE-2023-48795). Who is affected: "
        f"{p.terrapin_affected}. Fixed by: {p.terrapin_fix}"
    )
    return Verdict(
        findings=(Finding(text, key="terrapin: " + "; ".join(exposed)),), labels=_labels(p)
    )


@check("ssh.post_quantum")
def post_quantum(scan: SshScan, subject: Subject, *, policy: SshPolicy | None = None) -> Verdict:
    p = policy or load()
    hybrid = [k for k in scan.kex if k in p.post_quantum]
    if hybrid:
        return Verdict(
            notes=(f"offers hybrid post-quantum {', '.join(hybrid)}",), labels=_labels(p)
        )
    text = (
        "offers no hybrid post-quantum key exchange ("
        + ", ".join(p.post_quantum[:3])
        + "), so recorded sessions can be decrypted once a quantum computer breaks the "
        f"classical exchange (harvest now, decrypt later). Fixed by: {p.post_quantum_fix}"
    )
    return Verdict(
        findings=(Finding(text, key="no hybrid post-quantum key exchange"),), labels=_labels(p)
    )


def _note(verdict: Verdict, note: str) -> Verdict:
    return Verdict(
        findings=verdict.findings,
        not_applicable=verdict.not_applicable,
        notes=(*verdict.notes, note),
        labels=verdict.labels,
    )


@judged_by_default(Area.SSH)
def _policy(subject: Subject) -> str:
    return "judged against the SSH algorithm policy (harness/data/ssh_policy.yaml)"
