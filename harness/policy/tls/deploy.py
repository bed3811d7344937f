"""How a certificate is deployed: OCSP stapling, Certificate Transparency, the served chain's
shape, and a lifetime within the CA/Browser Forum's limits. Judged from sslyze's
certificate_info, which the scan already runs: no handshake of their own.

SCTs and lifetimes are rules of the public web PKI: a certificate from a private CA is not held
to them (its result says so), as no browser asks that of it.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources

from harness.checks import Severity, check
from harness.data import load_yaml
from harness.errors import CouldNotMeasure, FailureKind, ProbeFailure
from harness.outcome import Finding, Verdict
from harness.policy.tls.rules import need
from harness.probes.tls.model import CertDeployment, TlsScan
from harness.subject import Subject

SCT_LONG_DAYS = 180  # Chrome's and Apple's CT policies: 2 SCTs up to 180 days, 3 beyond


@cache
def lifetime_limits() -> tuple[tuple[dt.date, int], ...]:
    raw = load_yaml(resources.files("harness.data").joinpath("cab_lifetimes.yaml").read_text())
    return tuple(
        sorted((dt.date.fromisoformat(str(e["from"])), int(e["days"])) for e in raw["limits"])
    )


def limit_on(issued: dt.date) -> int | None:
    """The maximum validity in days for a certificate issued on `issued` (None before 2012)."""
    found = None
    for start, days in lifetime_limits():
        if issued >= start:
            found = days
    return found


def _days(d: CertDeployment) -> int:
    span = d.leaf.not_after - d.leaf.not_before
    return int((span.total_seconds() + 1) // 86400)  # validity counts both ends (BR 6.3.2)


def _who(d: CertDeployment) -> str:
    return d.leaf.common_name or (d.leaf.dns_names[0] if d.leaf.dns_names else d.leaf.subject)


def _unmeasured(scan: TlsScan, what: str) -> CouldNotMeasure:
    return CouldNotMeasure(ProbeFailure(FailureKind.PROTOCOL, scan.where, what))


@check("tls.cert.ocsp_stapling")
def ocsp_stapling(scan: TlsScan, subject: Subject) -> Verdict:
    need(scan, "certificates")
    assert scan.certificates is not None
    found: list[Finding] = []
    notes: list[str] = []
    for d in scan.certificates:
        if d.ocsp_stapled is None:
            raise _unmeasured(scan, "the scan did not report whether an OCSP response was stapled")
        key = d.leaf.fingerprint
        if d.must_staple and not d.ocsp_stapled:
            found.append(
                Finding(
                    f"the certificate for {_who(d)} demands OCSP stapling (must-staple) but the "
                    "server staples no response: clients that enforce it (Firefox) refuse to "
                    "connect",
                    key=f"must-staple {key}",
                )
            )
        elif d.ocsp_stapled and d.ocsp_status != "SUCCESSFUL":
            found.append(
                Finding(
                    f"the stapled OCSP response for {_who(d)} is not usable ({d.ocsp_status}): "
                    "clients ignore it or, with must-staple, refuse to connect",
                    severity=Severity.MEDIUM,
                    key=f"bad staple {key}",
                )
            )
        elif not d.ocsp_stapled and d.ocsp_responder:
            found.append(
                Finding(
                    f"no OCSP response is stapled for {_who(d)}: clients that check revocation ask "
                    f"{d.ocsp_responder} themselves, which tells the CA who visits and slows the "
                    "handshake (some public CAs have ended OCSP: then there is nothing to staple)",
                    severity=Severity.INFO,
                    key=f"no staple {key}",
                )
            )
        elif not d.ocsp_stapled:
            notes.append(
                f"the certificate for {_who(d)} names no OCSP responder: nothing to staple"
            )
        else:
            notes.append(f"an OCSP response is stapled for {_who(d)} ({d.ocsp_status})")
    return Verdict(findings=tuple(found), notes=tuple(notes))


@check("tls.cert.sct")
def sct(scan: TlsScan, subject: Subject) -> Verdict:
    need(scan, "certificates")
    assert scan.certificates is not None
    found: list[Finding] = []
    notes: list[str] = []
    for d in scan.certificates:
        if not d.publicly_trusted:
            notes.append(
                f"the certificate for {_who(d)} is not from a public CA: Certificate "
                "Transparency does not apply"
            )
            continue
        if d.sct_count is None:
            raise _unmeasured(scan, "the leaf's SCT extension could not be read")
        want = 3 if _days(d) > SCT_LONG_DAYS else 2
        if d.sct_count < want:
            found.append(
                Finding(
                    f"the publicly trusted certificate for {_who(d)} embeds {d.sct_count} SCTs; "
                    f"Chrome and Safari require {want} for its lifetime and refuse it otherwise, "
                    "unless the server delivers SCTs in the TLS extension or a stapled OCSP "
                    "response (not read by this scan)",
                    key=f"sct {d.leaf.fingerprint}",
                )
            )
        else:
            notes.append(f"{d.sct_count} SCTs embedded in the certificate for {_who(d)}")
    return Verdict(findings=tuple(found), notes=tuple(notes))


@check("tls.cert.chain")
def chain(scan: TlsScan, subject: Subject) -> Verdict:
    need(scan, "certificates")
    assert scan.certificates is not None
    found: list[Finding] = []
    notes: list[str] = []
    for d in scan.certificates:
        key = d.leaf.fingerprint
        if d.chain_in_order is None:
            raise _unmeasured(scan, "a certificate of the served chain could not be parsed")
        if not d.chain_in_order:
            found.append(
                Finding(
                    f"the chain served for {_who(d)} is out of order (each certificate must be "
                    "signed by the next): strict clients (older Java, embedded TLS stacks) fail",
                    key=f"order {key}",
                )
            )
        if d.unneeded:
            found.append(
                Finding(
                    f"the chain served for {_who(d)} holds certificates that are not on its path: "
                    f"{'; '.join(d.unneeded)}; clients may build a wrong path, and every "
                    "handshake carries them",
                    severity=Severity.LOW,
                    key=f"unneeded {key} {' '.join(sorted(d.unneeded))}",
                )
            )
        if d.sends_root:
            found.append(
                Finding(
                    f"the chain served for {_who(d)} includes its root certificate, which "
                    "clients already hold: bytes on every handshake, no use",
                    severity=Severity.INFO,
                    key=f"root {key}",
                )
            )
        elif d.sends_root is None:
            notes.append(
                f"the chain for {_who(d)} could not be verified, so its root and extra "
                "certificates are not judged (see tls.cert.trust)"
            )
    return Verdict(findings=tuple(found), notes=tuple(notes))


@check("tls.cert.lifetime")
def lifetime(scan: TlsScan, subject: Subject) -> Verdict:
    need(scan, "certificates")
    assert scan.certificates is not None
    found: list[Finding] = []
    notes: list[str] = []
    for d in scan.certificates:
        days, issued = _days(d), d.leaf.not_before.date()
        if not d.publicly_trusted:
            notes.append(
                f"the certificate for {_who(d)} ({days} days) is not from a public CA: the "
                "CA/Browser Forum limits do not apply"
            )
            continue
        limit = limit_on(issued)
        if limit is not None and days > limit:
            found.append(
                Finding(
                    f"the certificate for {_who(d)} is valid for {days} days from {issued}; the "
                    f"CA/Browser Forum maximum for a certificate issued then is {limit} days, "
                    "and browsers (Apple, Chrome) reject longer ones",
                    key=f"lifetime {d.leaf.fingerprint}",
                )
            )
        else:
            notes.append(f"valid for {days} days (limit at issue: {limit or 'none'})")
    return Verdict(findings=tuple(found), notes=tuple(notes))
