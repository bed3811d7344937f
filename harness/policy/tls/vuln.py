"""Known TLS vulnerabilities and HSTS, judged from sslyze's dedicated scans."""

from __future__ import annotations

from harness.checks import check
from harness.errors import CouldNotMeasure, FailureKind, ProbeFailure
from harness.outcome import Verdict
from harness.policy.tls.rules import need
from harness.probes.tls.model import Robot, TlsScan
from harness.subject import Subject

ROBOT_VULNERABLE = {
    Robot.VULNERABLE_STRONG_ORACLE: "a strong Bleichenbacher oracle: RSA key exchange can be decrypted",
    Robot.VULNERABLE_WEAK_ORACLE: "a weak Bleichenbacher oracle: RSA key exchange leaks information",
}


def _tls13_only(scan: TlsScan) -> bool:
    return scan.offered_names() == ["TLS 1.3"]


@check("tls.vuln.heartbleed")
def heartbleed(scan: TlsScan, subject: Subject) -> Verdict:
    need(scan, "heartbleed")
    if scan.heartbleed:
        return Verdict.of("the server answers malformed heartbeat requests with its memory")
    return Verdict()


@check("tls.vuln.ccs_injection")
def ccs_injection(scan: TlsScan, subject: Subject) -> Verdict:
    need(scan, "ccs_injection")
    if scan.ccs_injection:
        return Verdict.of("the server accepts an early ChangeCipherSpec message (CVE-2014-0224)")
    return Verdict()


@check("tls.vuln.robot")
def robot(scan: TlsScan, subject: Subject) -> Verdict:
    need(scan, "robot")
    assert scan.robot is not None
    if scan.robot in ROBOT_VULNERABLE:
        return Verdict.of(f"the server has {ROBOT_VULNERABLE[scan.robot]}")
    if scan.robot is Robot.UNKNOWN_INCONSISTENT_RESULTS:
        # inconsistent answers are not a clean bill of health: could not measure, never a pass
        raise CouldNotMeasure(
            ProbeFailure(
                FailureKind.PROTOCOL,
                scan.where,
                "the server answered sslyze's ROBOT probes inconsistently; run the scan again",
            )
        )
    if scan.robot is Robot.NOT_VULNERABLE_RSA_NOT_SUPPORTED:
        return Verdict(notes=("No RSA key exchange is offered",))
    return Verdict()


@check("tls.vuln.renegotiation")
def renegotiation(scan: TlsScan, subject: Subject) -> Verdict:
    need(scan, "protocols")
    if _tls13_only(scan):
        return Verdict.skip("only TLS 1.3 is offered, and TLS 1.3 has no renegotiation")
    need(scan, "secure_renegotiation", "client_renegotiation")
    texts = []
    if not scan.secure_renegotiation:
        texts.append("the server supports insecure renegotiation (no RFC 5746 extension)")
    if scan.client_renegotiation:
        texts.append("the server accepts client-initiated renegotiation")
    return Verdict.of(*texts)


@check("tls.vuln.compression")
def compression(scan: TlsScan, subject: Subject) -> Verdict:
    need(scan, "compression")
    if scan.compression:
        return Verdict.of("the server accepts TLS compression (DEFLATE)")
    return Verdict()


@check("tls.vuln.fallback_scsv")
def fallback_scsv(scan: TlsScan, subject: Subject) -> Verdict:
    need(scan, "protocols")
    offered = scan.offered_names()
    if len(offered) < 2:
        only = offered[0] if offered else "no protocol"
        return Verdict.skip(f"only {only} is offered, so there is no older version to fall back to")
    need(scan, "fallback_scsv")
    notes = (scan.fallback_note,) if scan.fallback_note else ()
    if not scan.fallback_scsv:
        return Verdict.of(
            f"the server does not reject TLS_FALLBACK_SCSV downgrades (offers {', '.join(offered)})",
            notes=notes,
        )
    return Verdict(notes=notes)


@check(
    "tls.hsts",
    judged_against=lambda s: (
        f"judged against a minimum HSTS max-age of {s.settings.hsts_min_age_days} days"
    ),
)
def hsts(scan: TlsScan, subject: Subject) -> Verdict:
    settings = subject.settings
    if not scan.https:
        kind = f"a STARTTLS {scan.starttls} endpoint" if scan.starttls else "not an HTTPS endpoint"
        return Verdict.skip(f"HSTS applies to HTTPS only; this is {kind}")
    need(scan, "hsts")
    assert scan.hsts is not None
    minimum = settings.hsts_min_age_days
    if not scan.hsts.present:
        return Verdict.of("no Strict-Transport-Security header is sent")
    if scan.hsts.max_age is None:
        return Verdict.of("the Strict-Transport-Security header has no max-age")
    days = scan.hsts.max_age // 86400
    note = (f"HSTS max-age {scan.hsts.max_age} s ({days} days)",)
    if scan.hsts.max_age < minimum * 86400:
        return Verdict.of(
            f"HSTS max-age is {scan.hsts.max_age} s ({days} days), under the minimum of "
            f"{minimum} days",
            notes=note,
        )
    return Verdict(notes=note)
