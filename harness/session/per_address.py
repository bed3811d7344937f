"""One check result per subject, from the verdicts of each address of its name.

A report reads best with one result per endpoint and check, so the addresses of a name are
folded into that one result rather than multiplied into results of their own:

- a finding on any address fails the check; each finding names the addresses it was seen on
  ("at 192.0.2.7 and 2001:db8::7: TLS 1.0 is offered"), and identical findings are told once;
- an address that could not be measured makes the check broken, naming the address and what
  the other addresses showed, unless another address has a finding (then the check fails and
  its message also names the address that could not be measured);
- notes seen on every address are told once, others name their address;
- the title and labels (the TLS grade) come from the first address with a finding, else the
  first address, so a dashboard shows the worst of them.

When the target's host is an address itself, nothing is prefixed: the result reads as before.
Which addresses were probed is on the result too: one Allure label `address` per address.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from harness.errors import FailureKind, ProbeFailure
from harness.outcome import Finding, Verdict


def _at(addresses: list[str]) -> str:
    if len(addresses) == 1:
        return f"at {addresses[0]}"
    return f"at {', '.join(addresses[:-1])} and {addresses[-1]}"


def _grouped(per_address: Mapping[str, tuple[str, ...]], named: bool) -> tuple[str, ...]:
    """Each distinct text once, in first-seen order, prefixed with the addresses it came from."""
    where: dict[str, list[str]] = {}
    for address, texts in per_address.items():
        for text in texts:
            seen = where.setdefault(text, [])
            if address not in seen:
                seen.append(address)
    return tuple(f"{_at(addrs)}: {text}" if named else text for text, addrs in where.items())


@dataclass(frozen=True)
class Combined:
    """The one verdict of a subject, or why it could not be measured."""

    verdict: Verdict | None
    failure: ProbeFailure | None = None


def combine(
    verdicts: Mapping[str, Verdict],
    unmeasured: Mapping[str, ProbeFailure],
    named: bool,
    where: str,
    extra_notes: tuple[str, ...] = (),
) -> Combined:
    """Fold per-address verdicts (in address order) and failures into one result.

    `named` is False when the subject's host is an address (one address, nothing to name)."""
    worst: dict[str, Finding] = {}  # by text: the most severe of the same finding
    for verdict in verdicts.values():
        for f in verdict.findings:
            prior = worst.get(f.text)
            if prior is None or _rank(f) > _rank(prior):
                worst[f.text] = f
    shown = _grouped({a: tuple(f.text for f in v.findings) for a, v in verdicts.items()}, named)
    seen_on = {
        text: [a for a, v in verdicts.items() if any(f.text == text for f in v.findings)]
        for text in worst
    }
    findings = tuple(
        Finding(text, f.severity, f.key, tuple(seen_on[f.text]) if named else ())
        for text, f in zip(shown, worst.values(), strict=True)
    )
    applicable = {a: v for a, v in verdicts.items() if v.not_applicable is None}
    not_applicable = {a: v.not_applicable for a, v in verdicts.items() if v.not_applicable}
    notes = list(_notes({a: v.notes for a, v in verdicts.items()}, named))
    if applicable and not_applicable:
        notes += [f"not applicable {_at([a])}: {why}" for a, why in not_applicable.items()]
    notes += extra_notes
    if unmeasured and findings:
        notes += [f"could not measure {_at([a])}: {f.reason}" for a, f in unmeasured.items()]
    if unmeasured and not findings:
        return Combined(None, failure(unmeasured, list(verdicts), where, named))
    primary = next((v for v in verdicts.values() if v.findings), next(iter(verdicts.values())))
    if not applicable:
        reasons = _grouped({a: (str(v.not_applicable),) for a, v in verdicts.items()}, named)
        return Combined(Verdict(not_applicable="; ".join(reasons)))
    return Combined(
        Verdict(
            findings=findings,
            notes=tuple(notes),
            title=primary.title,
            labels=dict(primary.labels),
        )
    )


def _notes(per_address: Mapping[str, tuple[str, ...]], named: bool) -> tuple[str, ...]:
    """Notes seen on every address once; the others with their address."""
    if not named or len(per_address) == 1:
        return tuple(dict.fromkeys(n for ns in per_address.values() for n in ns))
    common = set.intersection(*(set(ns) for ns in per_address.values()))
    out: list[str] = []
    for address, ns in per_address.items():
        for n in ns:
            shown = n if n in common else f"{_at([address])}: {n}"
            if shown not in out:
                out.append(shown)
    return tuple(out)


def failure(
    unmeasured: Mapping[str, ProbeFailure], measured: list[str], where: str, named: bool = True
) -> ProbeFailure:
    """One could-not-measure for the subject, naming each address that could not be measured."""
    kinds = {f.kind for f in unmeasured.values()}
    kind = kinds.pop() if len(kinds) == 1 else FailureKind.ERROR
    if not named:
        reason = "; ".join(f.reason for f in unmeasured.values())
    else:
        reason = "; ".join(f"{_at([a])}: {f.reason}" for a, f in unmeasured.items())
    if measured:
        reason += f" (measured and passed {_at(measured)}; every address must be measured)"
    return ProbeFailure(kind, where, reason)


def _rank(f: Finding) -> int:
    return f.severity.rank if f.severity is not None else -1
