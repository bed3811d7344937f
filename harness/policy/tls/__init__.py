"""TLS judgement: one pure function per check, `(scan, subject) -> Verdict`, each defined by
`@check("<id>")` where it lives; importing the package defines them all.

offer: protocol versions and cipher suites; cert: the certificate; deploy: how it is served
(OCSP, SCT, chain, lifetime); vuln: named vulnerabilities sslyze probes; named: named
vulnerabilities read from the enumeration; profile: Mozilla compliance and the grade; rules: what
they share. A check whose part of the scan failed raises CouldNotMeasure (the test ends broken):
a missing measurement must never read as a pass. Dates are judged at the scan's own time.
"""

from __future__ import annotations

from harness.policy.tls import cert, deploy, named, offer, profile, vuln

__all__ = ["cert", "deploy", "named", "offer", "profile", "vuln"]
