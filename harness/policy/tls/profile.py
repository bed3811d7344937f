"""Whole-configuration judgements: Mozilla profile compliance, and the SSL Labs-style grade.

Profile compliance follows sslyze's Mozilla checker, with two differences: trust counts the
declared ca_bundle (internal PKI must not fail here), and fallback SCSV and extended master
secret are only required where an older protocol is offered. HSTS has its own check
(tls.hsts); OCSP stapling is not judged.
"""

from __future__ import annotations

from harness.checks import check
from harness.inventory import Settings
from harness.outcome import Finding, Verdict
from harness.policy import grade as grading
from harness.policy.tls.cert import name_matches, weak_signatures
from harness.policy.tls.rules import (
    Weakness,
    aead,
    ec_groups,
    forward_secret,
    need,
    profile,
    profiles,
    trusted,
    weaknesses,
)
from harness.policy.tls.vuln import ROBOT_VULNERABLE
from harness.probes.tls.model import TlsScan
from harness.subject import Subject


def profile_issues(scan: TlsScan, settings: Settings) -> list[str]:
    prof = profile(settings.tls_profile)
    issues: list[str] = []
    offered = scan.offered()
    extra = [p.name for p in offered if p.name not in prof.protocols]
    if extra:
        issues.append(f"protocols outside the profile: {', '.join(extra)}")
    for proto in offered:
        allowed = prof.ciphersuites if proto.name == "TLS 1.3" else prof.ciphers
        outside = [s.name for s in proto.suites if s.name not in allowed]
        if outside and proto.name in prof.protocols:
            issues.append(f"{proto.name} suites outside the profile: {', '.join(outside)}")
    ec, dh = ec_groups(scan)
    curves = [c for c in ec if c not in prof.curves]
    if curves:
        issues.append(f"key exchange groups outside the profile: {', '.join(curves)}")
    if dh and prof.dh_param_size and min(dh) < prof.dh_param_size:
        issues.append(f"DH parameters of {min(dh)} bits, under {prof.dh_param_size}")
    small_ec = [c for c, bits in ec.items() if bits < prof.ecdh_param_size]
    if small_ec:
        issues.append(f"ECDH groups under {prof.ecdh_param_size} bits: {', '.join(small_ec)}")
    for d in scan.certificates or ():
        leaf = d.leaf
        kind = {"EC": "ecdsa", "RSA": "rsa"}.get(leaf.key_type, leaf.key_type.lower())
        if kind not in prof.certificate_types:
            issues.append(
                f"{leaf.key_type} certificate, the profile wants {'/'.join(prof.certificate_types)}"
            )
        curves_ok = {c.replace("prime256v1", "secp256r1") for c in prof.certificate_curves}
        if kind == "ecdsa" and leaf.curve not in curves_ok:
            issues.append(
                f"certificate curve {leaf.curve} is not one of {', '.join(sorted(curves_ok))}"
            )
        if kind == "rsa" and prof.rsa_key_size and leaf.key_bits < prof.rsa_key_size:
            issues.append(f"RSA key of {leaf.key_bits} bits, under {prof.rsa_key_size}")
        if leaf.signature_algorithm not in prof.certificate_signatures:
            issues.append(f"certificate signature {leaf.signature_algorithm} is not in the profile")
        lifespan = (leaf.not_after - leaf.not_before).days
        if lifespan > prof.maximum_certificate_lifespan:
            issues.append(
                f"certificate lifespan of {lifespan} days, over {prof.maximum_certificate_lifespan}"
            )
        if not trusted(scan, d):
            issues.append("certificate chain not trusted (system stores and ca_bundle)")
        if not leaf.not_before <= scan.scanned_at <= leaf.not_after:
            issues.append("certificate outside its validity period")
        if not name_matches(scan.server_name, leaf):
            issues.append(f"certificate does not match {scan.server_name}")
    older = [p.name for p in offered if p.name != "TLS 1.3"]
    vulns = (
        (scan.compression, "TLS compression"),
        (scan.ccs_injection, "CCS injection"),
        (scan.heartbleed, "Heartbleed"),
        (scan.robot in ROBOT_VULNERABLE, "ROBOT"),
        (bool(older) and scan.secure_renegotiation is False, "insecure renegotiation"),
        (len(offered) > 1 and scan.fallback_scsv is False, "no TLS_FALLBACK_SCSV"),
        (bool(older) and scan.extended_master_secret is False, "no extended master secret"),
    )
    issues += [f"vulnerable: {name}" for bad, name in vulns if bad]
    return issues


@check("tls.profile")
def compliance(scan: TlsScan, subject: Subject) -> Verdict:
    settings = subject.settings
    need(scan, "protocols", "curves", "certificates", "heartbleed", "ccs_injection", "robot")
    need(scan, "compression", "secure_renegotiation", "extended_master_secret")
    if len(scan.offered()) > 1:  # with one version there is nothing to fall back to
        need(scan, "fallback_scsv")
    issues = profile_issues(scan, settings)
    source = profiles()
    notes = (
        f"Mozilla {settings.tls_profile} profile {source.version} ({source.source}); "
        "HSTS is judged by tls.hsts, OCSP stapling is not judged",
    )
    return Verdict.of(*issues, notes=notes)


def grade_inputs(scan: TlsScan) -> grading.GradeInputs:
    offered = scan.offered()
    suites = [(p.name, s) for p in offered for s in p.suites]
    names = [(p, weaknesses(s)) for p, s in suites]
    ec, dh = ec_groups(scan)
    leafs = [d.leaf for d in scan.certificates or ()]
    cert_bits = [
        grading.ec_rsa_equivalent(c.key_bits) if c.key_type == "EC" else c.key_bits
        for c in leafs
        if c.key_type in ("EC", "RSA", "DSA")
    ]
    kex = [*cert_bits, *dh, *(grading.ec_rsa_equivalent(b) for b in ec.values())]
    trust: list[str] = []
    for d in scan.certificates or ():
        if not trusted(scan, d):
            trust.append("self-signed" if d.leaf.self_signed else "untrusted chain")
        if not d.leaf.not_before <= scan.scanned_at <= d.leaf.not_after:
            trust.append("outside its validity period")
        if any(c.signature_hash == "sha1" for c in weak_signatures(d)):
            trust.append("SHA-1 signature")
    older = [p.name for p in offered if p.name != "TLS 1.3"]
    warnings = []
    if len(offered) > 1 and scan.fallback_scsv is False:
        warnings.append("no fallback SCSV")
    if older and scan.client_renegotiation:
        warnings.append("client-initiated renegotiation")
    rsa = [c.key_bits for c in leafs if c.key_type == "RSA"]
    return grading.GradeInputs(
        protocols=tuple(p.name for p in offered),
        cipher_bits=tuple(
            0 if Weakness.NULL in w else s.bits
            for (_, s), (_, w) in zip(suites, names, strict=True)
        ),
        kex_bits=min(kex) if kex else 0,
        export=any(Weakness.EXPORT in w for _, w in names),
        null=any(Weakness.NULL in w for _, w in names),
        anonymous=any(Weakness.ANON in w for _, w in names),
        rc4=any(Weakness.RC4 in w for _, w in names),
        rc4_or_3des_on_tls11_plus=any(
            p in ("TLS 1.1", "TLS 1.2") and (Weakness.RC4 in w or Weakness.TRIPLE_DES in w)
            for p, w in names
        ),
        forward_secrecy=any(forward_secret(s) for _, s in suites),
        aead=any(aead(s) for _, s in suites),
        weak_dh=bool(dh) and min(dh) < 2048,
        heartbleed=bool(scan.heartbleed),
        ccs_injection=bool(scan.ccs_injection),
        robot=scan.robot in ROBOT_VULNERABLE,
        insecure_renegotiation=bool(older) and scan.secure_renegotiation is False,
        compression=bool(scan.compression),
        md5_signature=any(
            c.signature_hash == "md5" for d in scan.certificates or () for c in weak_signatures(d)
        ),
        rsa_key_bits=min(rsa) if rsa else None,
        trust_issues=tuple(dict.fromkeys(trust)),
        hostname_mismatch=any(not name_matches(scan.server_name, c) for c in leafs),
        warnings=tuple(warnings),
        hsts_max_age=scan.hsts.max_age if scan.hsts and scan.hsts.present else None,
    )


@check(
    "tls.grade",
    judged_against=lambda s: f"judged against a minimum grade of {s.settings.min_grade}",
)
def grade(scan: TlsScan, subject: Subject) -> Verdict:
    settings = subject.settings
    need(scan, "protocols", "curves", "certificates", "heartbleed", "ccs_injection", "robot")
    need(scan, "compression", "secure_renegotiation")
    if len(scan.offered()) > 1:
        need(scan, "fallback_scsv")
    result = grading.grade(grade_inputs(scan))
    caps = "; ".join(f"{letter} ({why})" for letter, why in result.caps) or "none"
    shown = result.letter
    if result.letter in ("T", "M"):
        shown = f"{result.letter} ({result.letter_if_trusted} if the certificate were trusted)"
    notes = (f"Grade {shown}: {result.breakdown()}; caps: {caps}",)
    title = f"TLS grade {result.letter} · {scan.server_name}:{scan.port}"
    labels = {"tls_grade": result.letter}
    findings: tuple[Finding, ...] = ()
    if result.rank < grading.rank(settings.min_grade):
        text = f"grade {shown} is below the declared minimum {settings.min_grade}"
        findings = (Finding(text),)
    return Verdict(findings=findings, notes=notes, title=title, labels=labels)
