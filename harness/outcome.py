"""What policy hands to a suite: a Verdict made of Findings, or "not applicable"."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.checks import Severity


@dataclass(frozen=True)
class Finding:
    """One defect, in plain words. `severity` overrides the check's default when set.

    `key` holds the stable facts that tell this finding apart from the check's other findings on
    the same subject (a port, suite names, a product and version, a certificate fingerprint). It
    makes the finding's identity across runs; the text never does, as it may hold a day count.
    `addresses` are the addresses of the target's name it was seen on (set when the verdicts of
    several addresses are folded into one); each is part of an identity of its own.
    """

    text: str
    severity: Severity | None = None
    key: str = ""
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verdict:
    """The judgement of one check on one subject.

    `notes` are shown with the result whether it passes or fails (a grade, a days-left count);
    `title` replaces the Allure title when set (used to show the TLS grade on the dashboard);
    `left_behind` names what a check created on the target, so the run summary can list it.
    """

    findings: tuple[Finding, ...] = ()
    not_applicable: str | None = None
    notes: tuple[str, ...] = ()
    title: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    # what the check left on the target (accounts it created), listed in the run summary
    left_behind: tuple[str, ...] = ()

    @classmethod
    def of(cls, *texts: str, notes: tuple[str, ...] = ()) -> Verdict:
        return cls(findings=tuple(Finding(t) for t in texts), notes=notes)

    @classmethod
    def skip(cls, reason: str) -> Verdict:
        return cls(not_applicable=reason)

    @property
    def ok(self) -> bool:
        return not self.findings and self.not_applicable is None
