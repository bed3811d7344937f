"""Banner policy: what counts as a disclosed version, and outdated software from banners."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from checking import at

from harness.checks import Severity
from harness.errors import CouldNotMeasure, FailureKind
from harness.policy.banners import disclosed, disclosure, outdated
from harness.probes.banners_model import Banner, BannerScan, Source

TODAY = dt.date(2026, 11, 29)
URL = "http://127.0.0.5:8080/"


def _scan(*banners: Banner, examined: tuple[str, ...] = ("x",)) -> BannerScan:
    return BannerScan("127.0.0.5", banners, examined)


def header(name: str, value: str, where: str = URL) -> Banner:
    return Banner(f"{name} header", where, value, 8080)


def nmap(port: int, product: str, version: str, extrainfo: str = "", *cpes: str) -> Banner:
    text = " ".join(x for x in (product, version, extrainfo) if x)
    return Banner("nmap -sV", f"port {port}/tcp", text, port, product, version, extrainfo, cpes)


@pytest.mark.parametrize(
    ("banner", "tokens"),
    [
        (
            header("Server", "Apache/2.4.57 (Debian) OpenSSL/3.0.11"),
            ["Apache/2.4.57", "OpenSSL/3.0.11"],
        ),
        (header("Server", "nginx"), []),
        (header("Server", "Apache/2"), []),  # ServerTokens Major names no exact version
        (header("X-Powered-By", "Express"), []),
        (header("X-Powered-By", "PHP/8.1.2-1ubuntu2.14"), ["PHP/8.1.2-1ubuntu2.14"]),
        (header("X-AspNet-Version", "4.0.30319"), ["4.0.30319"]),
        (
            Banner("SSH identification string", "port 22/tcp", "SSH-2.0-OpenSSH_9.6"),
            ["OpenSSH_9.6"],
        ),
        (Banner("SSH identification string", "port 22/tcp", "SSH-2.0-dropbear"), []),
        (Banner("FTP greeting", "port 21/tcp", "220 (vsFTPd 2.3.4)"), ["vsFTPd 2.3.4"]),
        (
            Banner(
                "SMTP greeting",
                "port 25/tcp",
                "220 mx.example.com ESMTP Exim 4.96 Sun, 29 Nov 2026 10:00:00 +0000",
            ),
            ["Exim 4.96"],
        ),
        (
            Banner("SMTP greeting", "port 25/tcp", "220 mx.example.com ESMTP Postfix (Debian/GNU)"),
            [],
        ),
        (Banner("FTP greeting", "port 21/tcp", "220 ready at 127.0.10.20"), []),
        (Banner("POP3 greeting", "port 110/tcp", "+OK Dovecot (Ubuntu) ready."), []),
    ],
)
def test_disclosed_tokens(banner: Banner, tokens: list[str]) -> None:
    assert disclosed(banner) == tokens


def test_disclosure_names_the_header_and_where() -> None:
    verdict = disclosure(
        _scan(header("Server", "nginx/1.18.0 (Ubuntu)"), header("Server", "nginx")), at()
    )
    (finding,) = verdict.findings
    assert finding.text == (
        f'Server header of {URL} says "nginx/1.18.0 (Ubuntu)", disclosing nginx/1.18.0'
    )
    assert finding.severity is None  # the check's default: low


def test_disclosure_by_nmap_only_where_no_banner_said_it() -> None:
    verdict = disclosure(
        _scan(
            Banner("SSH identification string", "port 22/tcp", "SSH-2.0-OpenSSH_9.6", 22),
            nmap(22, "OpenSSH", "9.6"),
            nmap(3306, "MySQL", "8.0.36"),
            nmap(5432, "PostgreSQL DB", ""),
        ),
        at(),
    )
    texts = [f.text for f in verdict.findings]
    assert len(texts) == 2
    assert texts[1] == "port 3306/tcp: nmap -sV identifies MySQL 8.0.36 from the service's answers"


def test_disclosure_passes_or_does_not_apply() -> None:
    assert disclosure(_scan(header("Server", "nginx")), at()).ok
    assert disclosure(_scan(examined=()), at()).not_applicable is not None


def test_outdated_shows_the_catalogue_date_and_merges_sources() -> None:
    verdict = outdated(
        _scan(
            header("Server", "Apache/2.2.15 (CentOS)"),
            header("X-Powered-By", "PHP/5.3.3"),
            nmap(8080, "Apache httpd", "2.2.15", "(CentOS)", "cpe:/a:apache:http_server:2.2.15"),
        ),
        at(),
        TODAY,
    )
    assert verdict.labels == {"catalogue": "2026-08-22"}
    assert verdict.notes[0].startswith(
        "Judged against the software catalogue snapshot of 2026-08-22"
    )
    assert len(verdict.findings) == 2
    apache, php = verdict.findings
    assert apache.text.startswith(
        f"Apache httpd 2.2.15 (Server header of {URL}, nmap -sV of port 8080/tcp): "
        "packaged by CentOS Linux 6"
    )
    # the (CentOS) marker of Server applies to X-Powered-By of the same response
    assert php.text.startswith("PHP 5.3.3") and "CentOS Linux 6" in php.text
    assert {apache.severity, php.severity} == {Severity.HIGH}
    assert any("backport" in n for n in verdict.notes)


def test_outdated_passes_with_the_reason_in_the_notes() -> None:
    verdict = outdated(
        _scan(Banner("SSH identification string", "port 22/tcp", "SSH-2.0-OpenSSH_10.5p1", 22)),
        at(),
        TODAY,
    )
    assert verdict.ok
    assert any("OpenSSH 10.5p1" in n and "latest release" in n for n in verdict.notes)


def test_outdated_from_nmap_alone_and_by_cpe() -> None:
    verdict = outdated(
        _scan(
            nmap(22, "OpenSSH", "9.2p1 Debian 2+deb12u10", "protocol 2.0"),
            nmap(80, "Acme web", "1.18.0", "", "cpe:/a:igor_sysoev:nginx:1.18.0"),
        ),
        at(),
        TODAY,
    )
    texts = {f.text.split(" (")[0]: f for f in verdict.findings}
    assert texts["OpenSSH 9.2p1"].severity is Severity.LOW  # Debian 12, LTS phase
    assert texts["nginx 1.18.0"].severity is Severity.HIGH  # no marker: upstream 1.18 is EOL


def test_outdated_passes_without_versions_and_skips_without_banners() -> None:
    verdict = outdated(
        _scan(header("Server", "nginx"), nmap(5432, "PostgreSQL DB", "")), at(), TODAY
    )
    assert verdict.ok and verdict.labels["catalogue"] == "2026-08-22"
    assert any("no banner names a catalogued product" in n for n in verdict.notes)
    assert outdated(_scan(examined=()), at(), TODAY).not_applicable is not None


# ---------------------------------------------------------------------- no pass without an answer

FRESH = dt.date(2026, 9, 1)  # 10 days after the snapshot of 2026-08-22
STALE = dt.date(2026, 11, 30)  # 100 days after it


def _silent(*sources: Source) -> BannerScan:
    return BannerScan("127.0.0.5", (), ("nmap -sV of 1 open port(s)",), (), sources, "t")


TARPIT = (
    Source("https on port 443/tcp (HTTP headers)", False, "no complete answer within 4 s",
           FailureKind.TIMEOUT),
    Source("nmap -sV of port 443/tcp", False, "no answer to any probe", FailureKind.TIMEOUT),
)  # fmt: skip


@pytest.mark.parametrize("check", [disclosure, outdated])
def test_no_source_said_a_byte_so_the_check_is_broken_naming_each_source(check: Any) -> None:
    with pytest.raises(CouldNotMeasure) as info:
        check(_silent(*TARPIT), at(), FRESH)
    failure = info.value.failure
    assert failure.kind is FailureKind.TIMEOUT and failure.where == "t"
    assert "no source said a single byte" in failure.reason
    assert "https on port 443/tcp (HTTP headers): no complete answer within 4 s" in failure.reason
    assert "nmap -sV of port 443/tcp: no answer to any probe" in failure.reason


@pytest.mark.parametrize("check", [disclosure, outdated])
def test_a_server_that_answered_garbage_still_passes_with_the_note(check: Any) -> None:
    garbage = Source("port 9999/tcp (service)", True, "0 banner(s)")
    verdict = check(_silent(TARPIT[1], garbage), at(), FRESH)
    assert verdict.ok
    if check is outdated:
        assert any("no banner names a catalogued product" in n for n in verdict.notes)


def test_every_banner_result_says_when_the_catalogue_is_old() -> None:
    scan = _scan(header("Server", "nginx/1.30.4"))
    for check in (disclosure, outdated):
        stale = [n for n in check(scan, at(), STALE).notes if "harness catalogue refresh" in n]
        assert len(stale) == 1 and "100 days old" in stale[0], check
        assert not any("harness catalogue refresh" in n for n in check(scan, at(), FRESH).notes)
    # a note, never a failure
    assert (
        outdated(scan, at(), STALE).ok
        and disclosure(_scan(header("Server", "nginx")), at(), STALE).ok
    )
