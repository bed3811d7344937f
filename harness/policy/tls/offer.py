"""The protocol versions and cipher suites an endpoint offers, judged against its Mozilla profile."""

from __future__ import annotations

from harness.checks import check
from harness.inventory import Settings
from harness.outcome import Finding, Verdict
from harness.policy.tls.rules import ec_groups, forward_secret, need, profile, profiles, weaknesses
from harness.probes.tls.model import TlsScan
from harness.subject import Subject

EC_MIN, DH_MIN = 256, 2048


def _note(settings: Settings) -> tuple[str, ...]:
    return (f"Judged against Mozilla's {settings.tls_profile} profile {profiles().version}",)


@check("tls.protocols")
def protocols(scan: TlsScan, subject: Subject) -> Verdict:
    settings = subject.settings
    need(scan, "protocols")
    allowed = profile(settings.tls_profile).protocols
    offered = scan.offered_names()
    named = {"SSLv2": " (see tls.vuln.drown)", "SSLv3": " (see tls.vuln.poodle)"}
    found = [
        Finding(f"{p} is offered{named.get(p, '')}", key=p) for p in offered if p not in allowed
    ]
    modern = [p for p in ("TLS 1.2", "TLS 1.3") if p in allowed]
    if not set(modern) & set(offered):
        found.append(Finding(f"{' or '.join(modern)} is not offered", key="no " + "/".join(modern)))
    notes = (f"Offered: {', '.join(offered) or 'nothing'}", *_note(settings))
    return Verdict(findings=tuple(found), notes=notes)


@check("tls.tls13")
def tls13(scan: TlsScan, subject: Subject) -> Verdict:
    need(scan, "protocols")
    offered = scan.offered_names()
    if "TLS 1.3" in offered:
        return Verdict()
    return Verdict(
        findings=(
            Finding(f"TLS 1.3 is not offered (offered: {', '.join(offered)})", key="no TLS 1.3"),
        )
    )


@check("tls.ciphers")
def ciphers(scan: TlsScan, subject: Subject) -> Verdict:
    settings = subject.settings
    need(scan, "protocols")
    forbid = profile(settings.tls_profile).harness.forbid
    found = []
    for proto in scan.offered():
        bad = [(s.name, weaknesses(s, forbid)) for s in proto.suites]
        named = [f"{name} ({', '.join(w.text for w in why)})" for name, why in bad if why]
        if named:
            suites = " ".join(name for name, why in bad if why)
            found.append(
                Finding(f"{proto.name}: {', '.join(named)}", key=f"{proto.name}: {suites}")
            )
    return Verdict(findings=tuple(found), notes=_note(settings))


@check("tls.forward_secrecy")
def forward_secrecy(scan: TlsScan, subject: Subject) -> Verdict:
    settings = subject.settings
    need(scan, "protocols")
    if not profile(settings.tls_profile).harness.require_forward_secrecy:
        return Verdict.skip(f"the {settings.tls_profile} profile does not require forward secrecy")
    found = []
    for proto in scan.offered():
        static = [s.name for s in proto.suites if not forward_secret(s)]
        if static:
            found.append(
                Finding(
                    f"{proto.name}: {', '.join(static)} without (EC)DHE",
                    key=f"{proto.name}: {' '.join(static)}",
                )
            )
    return Verdict(findings=tuple(found))


@check("tls.key_exchange")
def key_exchange(scan: TlsScan, subject: Subject) -> Verdict:
    settings = subject.settings
    need(scan, "protocols", "curves")
    prof = profile(settings.tls_profile)
    ec, dh = ec_groups(scan)
    texts = [f"DH group of {b} bits (under {DH_MIN})" for b in sorted(dh) if b < DH_MIN]
    texts += [
        f"elliptic curve {c} of {b} bits (under {EC_MIN})" for c, b in ec.items() if b < EC_MIN
    ]
    outside = [c for c, b in ec.items() if b >= EC_MIN and c not in prof.curves]
    if outside:
        texts.append(
            f"groups outside the {settings.tls_profile} profile: {', '.join(outside)} "
            f"(allowed: {', '.join(prof.curves)})"
        )
    notes = (f"Groups accepted: {', '.join([*ec, *(f'DH-{b}' for b in sorted(dh))]) or 'none'}",)
    return Verdict.of(*texts, notes=notes)
