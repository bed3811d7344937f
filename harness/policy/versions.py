"""Versions: parse and compare them, spot distro builds, judge them against the catalogue.

Debian, Ubuntu and RHEL backport fixes without changing the upstream version, so a banner that
names its distro (`OpenSSH_9.2p1 Debian-2+deb12u10`, `Apache/2.4.52 (Ubuntu)`, `el8`) is judged
by that distro release's support window, never by upstream: no crying wolf on backports.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

from harness.checks import Severity
from harness.policy.catalogue import VERSION_RE, Catalogue, Distro, DistroRelease, Line, Product

_PRE_RELEASE = {"alpha", "beta", "rc", "pre", "dev"}
_WIDTH = 6  # version components compared; 2.4 == 2.4.0


@functools.total_ordering
@dataclass(frozen=True)
class Version:
    """An upstream version: numeric components plus a suffix (p1, k, rc1).

    Suffix letters sort after the plain release (OpenSSL 1.0.2k > 1.0.2, OpenSSH 9.2p1 > 9.2)
    except pre-release words (1.3.9rc1 < 1.3.9).
    """

    text: str
    numbers: tuple[int, ...]
    suffix: tuple[tuple[int, str, int], ...]

    @classmethod
    def parse(cls, text: str) -> Version:
        match = re.fullmatch(r"v?(\d+(?:\.\d+)*)\.?([a-z][a-z0-9]*)?", text.strip().lower())
        if not match:
            raise ValueError(f"not a version: {text!r}")
        numbers = tuple(int(n) for n in match.group(1).split("."))
        parts: list[tuple[int, str, int]] = []
        for word, num in re.findall(r"([a-z]+)(\d*)", match.group(2) or ""):
            parts.append((-1 if word in _PRE_RELEASE else 1, word, int(num or 0)))
        return cls(text.strip(), numbers, tuple(parts))

    def key(self) -> tuple[tuple[int, ...], tuple[tuple[int, str, int], ...]]:
        padded = (self.numbers + (0,) * _WIDTH)[:_WIDTH]
        return padded, self.suffix or ((0, "", 0),)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.key() < other.key()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.key() == other.key()

    def __hash__(self) -> int:
        return hash(self.key())

    def in_line(self, cycle: str) -> bool:
        line = tuple(int(n) for n in cycle.split("."))
        return len(self.numbers) >= len(line) and self.numbers[: len(line)] == line

    def __str__(self) -> str:
        return self.text


def parse_version(text: str) -> Version | None:
    try:
        return Version.parse(text)
    except ValueError:
        return None


# ------------------------------------------------------------------------------- distro markers


@dataclass(frozen=True)
class DistroHint:
    """What a banner says about its packager: the distro, maybe its release, and the marker."""

    distro: str
    release: str | None
    marker: str


_RELEASE_MARKERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("debian", re.compile(r"[+~.](?:deb|bpo)(\d{1,2})(?=u\d|\+|\b)")),
    ("ubuntu", re.compile(r"ubuntu\d*[.~](\d{2}\.(?:04|10))\b", re.IGNORECASE)),
    ("rhel", re.compile(r"(?<![A-Za-z])el(\d{1,2})(?:_\d+)?\b")),
)
_FAMILY_MARKERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("debian", re.compile(r"\bDebian\b", re.IGNORECASE)),
    ("ubuntu", re.compile(r"\bUbuntu\b|\dubuntu\d", re.IGNORECASE)),  # 7.4.3-4ubuntu2.19
    ("centos", re.compile(r"\bCentOS\b", re.IGNORECASE)),
    ("rhel", re.compile(r"Red Hat|\bRHEL\b|Rocky Linux|AlmaLinux", re.IGNORECASE)),
)


def distro_hint(text: str) -> DistroHint | None:
    """The distro a banner names, with its release when a package revision gives it away."""
    family: DistroHint | None = None
    for distro, pattern in _FAMILY_MARKERS:
        match = pattern.search(text)
        if match:
            family = DistroHint(distro, None, match.group(0))
            break
    for distro, pattern in _RELEASE_MARKERS:
        match = pattern.search(text)
        if not match:
            continue
        marker = match.group(0).lstrip("+~.")
        if family is not None and family.distro == "centos" and distro == "rhel":
            return DistroHint("centos", match.group(1), marker)  # el7 on a CentOS build
        if family is None or family.distro == distro:
            return DistroHint(distro, match.group(1), marker)
    return family


# --------------------------------------------------------------------------- software in banners


@dataclass(frozen=True)
class Software:
    """A product and upstream version named by a banner (or nmap), with any distro marker."""

    product: Product
    version: str
    token: str  # as printed, e.g. "Apache/2.2.15"
    distro: DistroHint | None

    @property
    def label(self) -> str:
        return f"{self.product.name} {self.version}"


def find_software(
    text: str, catalogue: Catalogue, context: DistroHint | None = None
) -> list[Software]:
    """Every catalogue product with a version in `text`.

    `context` is a distro marker seen elsewhere in the same response (an `(Ubuntu)` in Server
    applies to the PHP of X-Powered-By too); a marker in the text itself wins.
    """
    hint = distro_hint(text) or context
    found: list[Software] = []
    for product in catalogue.products.values():
        for pattern in product.patterns:
            for match in pattern.finditer(text):
                found.append(Software(product, match.group(1), match.group(0), hint))
    return found


def product_by_nmap_name(name: str, catalogue: Catalogue) -> Product | None:
    lowered = name.strip().lower()
    for product in catalogue.products.values():
        if lowered in product.nmap:
            return product
    return None


def product_by_cpe(cpe: str, catalogue: Catalogue) -> tuple[Product, str] | None:
    """('cpe:/a:openbsd:openssh:9.2p1') -> (OpenSSH, '9.2p1'), for products nmap names oddly."""
    parts = cpe.lower().split(":")
    if len(parts) < 5 or parts[1] != "/a":
        return None
    for product in catalogue.products.values():
        if f"{parts[2]}:{parts[3]}" in product.cpe and re.fullmatch(VERSION_RE, parts[4]):
            return product, parts[4]
    return None


# ------------------------------------------------------------------------------------ judgement


@dataclass(frozen=True)
class Judgement:
    """severity None: no finding; `text` says why either way."""

    severity: Severity | None
    text: str


def judge(sw: Software, catalogue: Catalogue, today: dt.date) -> Judgement:
    version = parse_version(sw.version)
    if version is None:
        return Judgement(None, f"version {sw.version!r} cannot be compared; not judged")
    for bad in sw.product.known_bad:
        if any(parse_version(v) == version for v in bad.versions):
            return Judgement(bad.severity, f"a known-bad release: {bad.reason}")
    if sw.distro is not None and sw.distro.distro in catalogue.distros:
        return _judge_distro(sw, version, catalogue.distros[sw.distro.distro], today, catalogue)
    return _judge_upstream(sw.product, version, catalogue, today)


def line_of(product: Product, version: Version) -> Line | None:
    """The catalogued release line a version belongs to (the most specific one)."""
    matching = [ln for ln in product.lines if version.in_line(ln.cycle)]
    return max(matching, key=lambda ln: len(ln.cycle.split("."))) if matching else None


def _absent_line(version: Version, product: Product) -> str:
    """How a version outside every catalogued line is named: its first components, as deep as
    the product's lines go (nginx 1.11.2 -> 1.11, OpenSSH 9.2p1 -> 9)."""
    depth = max((len(ln.cycle.split(".")) for ln in product.lines), default=2)
    return ".".join(str(n) for n in version.numbers[:depth])


def _judge_upstream(
    product: Product,
    version: Version,
    catalogue: Catalogue,
    today: dt.date,
    why: str = "no distro marker in the banner, so judged by upstream",
) -> Judgement:
    line = line_of(product, version)
    if line is None:
        cycles = [(v, ln) for ln in product.lines if (v := parse_version(ln.cycle)) is not None]
        supported = [v for v, ln in cycles if not ln.ended(today)]
        absent = _absent_line(version, product)
        if cycles and version < min(v for v, _ in cycles):
            return Judgement(
                catalogue.unknown_line_severity,
                f"release line {absent} is older than every {product.name} release line the "
                f"catalogue tracks (oldest: {min(v for v, _ in cycles)}), so it is judged end "
                f"of life ({why})",
            )
        if supported and version < min(supported):
            return Judgement(
                catalogue.eol_severity,
                f"release line {absent} is not in the catalogue of {catalogue.snapshot}, but it "
                f"is older than the oldest supported {product.name} line ({min(supported)}), "
                f"so it is judged end of life ({why})",
            )
        if cycles and version > max(v for v, _ in cycles):
            return Judgement(
                None,
                f"release line {absent} is newer than the catalogue of {catalogue.snapshot} "
                "knows; not judged (`harness catalogue refresh` brings newer lines)",
            )
        return Judgement(
            None, f"release line {absent} is not in the catalogue of {catalogue.snapshot}"
        )
    if line.ended(today):
        return Judgement(
            catalogue.eol_severity,
            f"release line {line.cycle} reached end of life {line.eol_text()} ({why})",
        )
    latest = parse_version(line.latest) if line.latest else None
    if latest is None:
        return Judgement(
            None,
            f"release line {line.cycle} is supported (its latest release is not recorded in the "
            "catalogue)",
        )
    if line.source:  # an approximate figure: say what it rests on
        if version < latest:
            return Judgement(
                catalogue.behind_severity,
                f"behind {line.latest}, which the supported {line.cycle} line had already "
                f"released ({line.source}; {why})",
            )
        return Judgement(
            None,
            f"at or above {line.latest}, the newest release of the supported {line.cycle} line "
            f"the catalogue records ({line.source})",
        )
    if version < latest:
        return Judgement(
            catalogue.behind_severity,
            f"behind {line.latest}, the latest release of the supported {line.cycle} line ({why})",
        )
    return Judgement(None, f"the latest release of the supported {line.cycle} line")


def _exact(table: dict[str, tuple[str, ...]], version: Version) -> tuple[str, ...]:
    for key, releases in table.items():
        if not key.endswith(".x") and parse_version(key) == version:
            return releases
    return ()


def _shipping_line(
    table: dict[str, tuple[str, ...]], version: Version, product: Product
) -> tuple[str, tuple[str, ...]]:
    """The release line of `version` and every distro release that ships a version of it."""
    line = line_of(product, version)
    cycle = line.cycle if line else _absent_line(version, product)
    names: list[str] = []
    for key, releases in table.items():
        v = parse_version(key[:-2] if key.endswith(".x") else key)
        if v is not None and (
            v.in_line(cycle) or (key.endswith(".x") and version.in_line(key[:-2]))
        ):
            names.extend(r for r in releases if r not in names)
    return cycle, tuple(names)


def _in_support(release: DistroRelease, today: dt.date) -> bool:
    end = release.extended or release.support
    return end is None or today < end


def _judge_distro(
    sw: Software, version: Version, distro: Distro, today: dt.date, catalogue: Catalogue
) -> Judgement:
    assert sw.distro is not None
    releases: list[DistroRelease] = []
    how = f"marker {sw.distro.marker!r}"
    if sw.distro.release is not None:
        found = distro.release(sw.distro.release)
        if found is None:
            return Judgement(
                None,
                f"packaged by {distro.name} {sw.distro.release}, a release the catalogue of "
                f"{catalogue.snapshot} does not know; not judged against upstream (backports)",
            )
        releases = [found]
    else:
        # no release number: the release(s) that ship this exact version, else the newest
        # supported release that ships its line; failing both, upstream decides
        table = distro.packages.get(sw.product.id, {})
        names = _exact(table, version)
        what = sw.version
        known = [r for r in (distro.release(n) for n in names) if r is not None]
        releases = known
        if not known:
            cycle, names = _shipping_line(table, version, sw.product)
            what = f"the {cycle} line"
            known = [r for r in (distro.release(n) for n in names) if r is not None]
            releases = [r for r in known if _in_support(r, today)]
        if not releases:
            if known:
                newest = max(known, key=lambda r: r.extended or r.support or dt.date.max)
                gone = (
                    f"the newest that did, {newest.label(distro)}, reached end of life on "
                    f"{newest.extended or newest.support}"
                )
            else:
                gone = f"none in the catalogue of {catalogue.snapshot} does"
            return _judge_upstream(
                sw.product,
                version,
                catalogue,
                today,
                f"marker {sw.distro.marker!r} names no release, and no supported {distro.name} "
                f"release ships {what} ({gone}), so judged by upstream",
            )
        shipped = " and ".join(r.label(distro) for r in releases)
        ships = "ship" if len(releases) > 1 else "ships"
        how = f"marker {sw.distro.marker!r} names no release; {what} is what {shipped} {ships}"
    release = max(releases, key=lambda r: r.extended or r.support or dt.date.max)
    label = release.label(distro)
    if len(releases) > 1:
        how += f"; judged by the newest, {label}"
    backports = f"judged by {distro.name} {release.release}'s support window, not upstream"
    if release.support is None or today < release.support:
        until = f" until {release.support}" if release.support else ""
        return Judgement(
            None,
            f"packaged by {label} ({how}), in regular security support{until}; {backports}",
        )
    if release.extended is not None and today < release.extended:
        return Judgement(
            distro.extended_severity,
            f"packaged by {label} ({how}), which left regular security support on "
            f"{release.support}; only {distro.extended_name} covers it, until "
            f"{release.extended}; {backports}",
        )
    end = release.extended or release.support
    return Judgement(
        catalogue.eol_severity,
        f"packaged by {label} ({how}), which reached end of life on {end}; {backports}",
    )
