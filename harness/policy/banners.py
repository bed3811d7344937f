"""Banner policy: exact versions disclosed (banner.disclosure) and outdated software
(banner.outdated), judged against the shipped software catalogue."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from dataclasses import dataclass, field

import yaml

from harness.checks import Area, check, judged_by_default
from harness.errors import CouldNotMeasure, FailureKind, ProbeFailure
from harness.outcome import Finding, Verdict
from harness.policy import catalogue as catalogue_mod
from harness.policy.catalogue import Catalogue
from harness.policy.versions import (
    DistroHint,
    Software,
    distro_hint,
    find_software,
    judge,
    parse_version,
    product_by_cpe,
    product_by_nmap_name,
)
from harness.probes.banners_model import Banner, BannerScan
from harness.subject import Subject

_NMAP = "nmap -sV"
# "Product/1.2.3" and "OpenSSH_7.4" anywhere; "Product 1.2.3" in greetings (not protocol words).
# Product names are bounded ({0,40}): an unbounded run is retried at every word boundary, which
# made a 64 KB header of "a." cost 21 s of CPU.
_SLASHED = re.compile(r"\b([A-Za-z][A-Za-z0-9.+-]{0,40})[/_]v?(\d+\.\d+[A-Za-z0-9.+~-]*)")
_SPACED = re.compile(r"\b([A-Za-z][A-Za-z0-9.+-]{1,30}):? v?(\d+\.\d+(?:\.\d+)*[A-Za-z0-9+~-]*)")
_NOT_PRODUCTS = {
    "esmtp", "smtp", "ftp", "server", "service", "ready", "mail", "pop3", "imap", "imap4",
    "imap4rev1", "http", "https", "ssh", "tls", "ssl", "protocol", "at", "on", "from", "for",
}  # fmt: skip


def _exact(version: str) -> bool:
    """An exact version names at least major.minor (Apache/2 does not; Apache/2.4.57 does)."""
    return re.match(r"\d+\.\d+", version) is not None


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def disclosed(banner: Banner) -> list[str]:
    """The product/version tokens a header or greeting gives away, as printed."""
    if banner.source == _NMAP:
        return []
    text = re.sub(r"^SSH-[\d.]+-", "", banner.text)  # the protocol version is no disclosure
    tokens: list[str] = []
    for m in _SLASHED.finditer(text):
        if _exact(m.group(2)) and not _is_address(m.group(2)):
            tokens.append(m.group(0))
    if not banner.source.endswith("header"):
        for m in _SPACED.finditer(text):
            if m.group(1).lower() in _NOT_PRODUCTS or _is_address(m.group(2)):
                continue
            if not any(m.group(0) in t or t in m.group(0) for t in tokens):
                tokens.append(m.group(0))
    elif "version" in banner.source.lower() and re.search(r"\d+\.\d+", banner.text):
        tokens.append(banner.text)  # X-AspNet-Version: 4.0.30319
    return tokens


def require_answer(scan: BannerScan) -> None:
    """No pass without an answer: when every source tried stayed silent (each grab refused or
    timed out, and nmap -sV got nothing back), nothing was read, so nothing is measured."""
    if not scan.sources or any(s.answered for s in scan.sources):
        return
    kinds = [s.kind for s in scan.sources if s.kind is not None]
    kind = FailureKind.TIMEOUT if FailureKind.TIMEOUT in kinds or not kinds else kinds[0]
    tried = "; ".join(f"{s.name}: {s.outcome}" for s in scan.sources)
    raise CouldNotMeasure(
        ProbeFailure(
            kind,
            scan.where or scan.host,
            f"no source said a single byte, so no banner was read and nothing is measured "
            f"(tried {len(scan.sources)}: {tried}). Fix: make sure the service answers a client "
            "from this machine (a firewall that accepts and drops, a tarpit or an overloaded "
            "host looks like this), or raise the target's timeout",
        )
    )


def age_notes(today: dt.date | None = None, catalogue: Catalogue | None = None) -> tuple[str, ...]:
    """The catalogue's age, when it is old enough to say so (a note, never a failure)."""
    cat = catalogue or catalogue_mod.load()
    note = cat.stale_note(today or dt.date.today())
    return (note,) if note else ()


@check("banner.disclosure")
def disclosure(
    scan: BannerScan,
    subject: Subject,
    today: dt.date | None = None,
    catalogue: Catalogue | None = None,
) -> Verdict:
    if not scan.banners and not scan.examined:
        return Verdict.skip("no HTTP endpoint or open port to read banners from")
    require_answer(scan)
    findings: list[Finding] = []
    disclosing_ports: set[int | None] = set()
    for banner in scan.banners:
        tokens = disclosed(banner)
        if tokens:
            disclosing_ports.add(banner.port)
            findings.append(
                Finding(
                    f'{banner.source} of {banner.where} says "{banner.text}", disclosing '
                    + ", ".join(tokens),
                    key=f"{banner.where}: {', '.join(tokens)}",
                )
            )
    for banner in scan.banners:
        if banner.source != _NMAP or banner.port in disclosing_ports:
            continue
        if banner.product and _exact(banner.version):
            findings.append(
                Finding(
                    f"{banner.where}: nmap -sV identifies {banner.product} {banner.version} "
                    "from the service's answers",
                    key=f"{banner.where}: {banner.product} {banner.version}",
                )
            )
    notes = (f"examined: {', '.join(scan.examined)}",) if scan.examined else ()
    return Verdict(findings=tuple(findings), notes=notes + scan.notes + age_notes(today, catalogue))


# ------------------------------------------------------------------------------------ outdated


@dataclass
class _Seen:
    software: Software
    sources: list[str] = field(default_factory=list)


def identify(scan: BannerScan, catalogue: Catalogue) -> list[_Seen]:
    """Every catalogued product and version the banners name, merged across sources."""
    context: dict[str, DistroHint] = {}  # a distro marker applies to its whole response
    by_port: dict[int | None, DistroHint] = {}
    for b in scan.banners:
        hint = distro_hint(b.text) if b.source != _NMAP else None
        if hint is not None:
            context.setdefault(b.where, hint)
            by_port.setdefault(b.port, hint)
    seen: dict[tuple[str, str, str, str | None], _Seen] = {}

    def add(sw: Software, source: str) -> None:
        parsed = parse_version(sw.version)
        norm = str(parsed.key()) if parsed else sw.version
        hint = (sw.distro.distro, sw.distro.release) if sw.distro else ("", None)
        entry = seen.setdefault((sw.product.id, norm, *hint), _Seen(sw))
        if source not in entry.sources:
            entry.sources.append(source)

    for b in scan.banners:
        if b.source == _NMAP:
            continue
        for sw in find_software(b.text, catalogue, context.get(b.where)):
            add(sw, f"{b.source} of {b.where}")
    for b in scan.banners:
        if b.source != _NMAP:
            continue
        product = product_by_nmap_name(b.product, catalogue) if b.product else None
        version = b.version.split(" ")[0] if b.version else ""
        if product is None or not version:
            found = next(
                (f for f in map(lambda c: product_by_cpe(c, catalogue), b.cpes) if f), None
            )
            if found is None:
                continue
            product, version = found
        hint = distro_hint(f"{b.version} {b.extrainfo}") or by_port.get(b.port)
        add(
            Software(product, version, f"{b.product} {b.version}".strip(), hint),
            f"nmap -sV of {b.where}",
        )
    return list(seen.values())


@check("banner.outdated")
def outdated(
    scan: BannerScan,
    subject: Subject,
    today: dt.date | None = None,
    catalogue: Catalogue | None = None,
) -> Verdict:
    cat = catalogue or catalogue_mod.load()
    today = today or dt.date.today()
    if not scan.banners and not scan.examined:
        return Verdict.skip("no HTTP endpoint or open port to read banners from")
    require_answer(scan)
    notes = [f"Judged against the {cat.describe()}", *age_notes(today, cat)]
    labels = {"catalogue": str(cat.snapshot)}
    found = identify(scan, cat)
    if not found:
        # a host that hides its versions passes: nothing it says is out of support
        notes.append(
            "no banner names a catalogued product with its version, so nothing is judged "
            "outdated (examined: " + ", ".join(scan.examined) + ")"
        )
        return Verdict(notes=tuple(notes), labels=labels)
    findings: list[Finding] = []
    if any(e.software.distro is not None for e in found):
        notes.append(
            "Distro-marked builds are judged by the distro release's support window, not by "
            "upstream, because distros backport fixes without changing the upstream version"
        )
    for entry in found:
        verdict = judge(entry.software, cat, today)
        text = f"{entry.software.label} ({', '.join(entry.sources)}): {verdict.text}"
        if verdict.severity is None:
            notes.append(text)
        else:
            findings.append(Finding(text, verdict.severity, key=entry.software.label))
    findings.sort(key=lambda f: -(f.severity.rank if f.severity else 0))  # worst first
    return Verdict(findings=tuple(findings), notes=tuple(notes), labels=labels)


@judged_by_default(Area.BANNERS)
def _catalogue(subject: Subject) -> str:
    try:
        snapshot = str(catalogue_mod.load().snapshot)
    except (OSError, ValueError, KeyError, yaml.YAMLError) as exc:  # as the run properties say
        snapshot = f"cannot load: {exc}"
    return f"judged against the software catalogue of {snapshot}"
