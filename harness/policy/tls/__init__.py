"""TLS judgement: one pure function per check id, from a `TlsScan` and the endpoint's settings.

The package holds the protocol and cipher suite checks and re-exports the others, so a suite
reads `policy.<check>(measurement, settings)`. A check whose part of the scan failed raises
CouldNotMeasure (the test ends broken): a missing measurement must never read as a pass. Dates
are judged at the scan's own time.
"""

from __future__ import annotations

from harness.checks import decides
from harness.inventory import Settings
from harness.outcome import Finding, Verdict
from harness.policy.tls.cert import (
    cert_expiry,
    cert_hostname,
    cert_key,
    cert_signature,
    cert_strict,
    cert_trust,
    cert_validity,
)
from harness.policy.tls.deploy import chain, lifetime, ocsp_stapling, sct
from harness.policy.tls.named import (
    beast,
    drown,
    freak,
    logjam,
    lucky13,
    poodle,
    post_quantum,
    rc4,
    sweet32,
)
from harness.policy.tls.profile import compliance, grade
from harness.policy.tls.rules import ec_groups, forward_secret, need, profile, profiles, weaknesses
from harness.policy.tls.vuln import (
    ccs_injection,
    compression,
    fallback_scsv,
    heartbleed,
    hsts,
    renegotiation,
    robot,
)
from harness.probes.tls.model import TlsScan

EC_MIN, DH_MIN = 256, 2048


def _note(settings: Settings) -> tuple[str, ...]:
    return (f"Judged against Mozilla's {settings.tls_profile} profile {profiles().version}",)


# ---------------------------------------------------------------------- protocols and suites


@decides("tls.protocols")
def protocols(scan: TlsScan, settings: Settings) -> Verdict:
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


@decides("tls.ciphers")
def ciphers(scan: TlsScan, settings: Settings) -> Verdict:
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


@decides("tls.forward_secrecy")
def forward_secrecy(scan: TlsScan, settings: Settings) -> Verdict:
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


@decides("tls.key_exchange")
def key_exchange(scan: TlsScan, settings: Settings) -> Verdict:
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


__all__ = [
    "beast",
    "ccs_injection",
    "cert_expiry",
    "cert_hostname",
    "cert_key",
    "cert_signature",
    "cert_strict",
    "cert_trust",
    "cert_validity",
    "chain",
    "ciphers",
    "compliance",
    "compression",
    "drown",
    "ec_groups",
    "fallback_scsv",
    "forward_secrecy",
    "freak",
    "grade",
    "heartbleed",
    "hsts",
    "key_exchange",
    "lifetime",
    "logjam",
    "lucky13",
    "ocsp_stapling",
    "poodle",
    "post_quantum",
    "protocols",
    "rc4",
    "renegotiation",
    "robot",
    "sct",
    "sweet32",
]
