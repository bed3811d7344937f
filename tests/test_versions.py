"""Version parsing and comparison, distro markers, judgement against the catalogue, and the
`harness catalogue` command (show, and refresh against a local endoflife.date-style server)."""

from __future__ import annotations

import datetime as dt
import http.server
import itertools
import json
import re
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from harness.checks import Severity
from harness.cli import main as cli_main
from harness.commands.catalogue import main as catalogue_main
from harness.policy import catalogue
from harness.policy.versions import (
    Software,
    Version,
    distro_hint,
    find_software,
    judge,
    parse_version,
    product_by_cpe,
    product_by_nmap_name,
)

TODAY = dt.date(2026, 11, 29)
CAT = catalogue.load()


def v(text: str) -> Version:
    return Version.parse(text)


# ----------------------------------------------------------------------------------- versions


@pytest.mark.parametrize(
    "ordered",
    [
        ["9.2p1", "9.2p2", "9.3p1", "10.0p1", "10.5p1"],  # OpenSSH portable
        ["1.0.2", "1.0.2k", "1.0.2u", "1.1.0", "1.1.1w", "3.0.21"],  # OpenSSL letters
        ["1.3.9rc1", "1.3.9rc2", "1.3.9", "1.3.9a", "1.3.9d"],  # pre-releases before, letters after
        ["2.2.15", "2.4.6", "2.4.57", "2.4.68"],
        ["1.9.9", "1.18.0", "1.30.4", "1.31.4"],  # numeric, not lexical
    ],
)
def test_versions_sort(ordered: list[str]) -> None:
    parsed = [v(t) for t in ordered]
    assert sorted(reversed(parsed)) == parsed
    assert all(a < b for a, b in itertools.pairwise(parsed))


def test_version_equality_and_lines() -> None:
    assert v("2.4") == v("2.4.0") and hash(v("2.4")) == hash(v("2.4.0"))
    assert v("v22.11.0") == v("22.11.0")
    assert v("9.2p1").in_line("9") and v("9.2p1").in_line("9.2") and not v("9.2p1").in_line("9.3")
    assert v("1.1.1w").in_line("1.1.1") and not v("1.1.0l").in_line("1.1.1")
    assert not v("2").in_line("2.4")  # Apache/2 (ServerTokens Major) names no line
    assert parse_version("9.2p1 Debian") is None and parse_version("abc") is None
    with pytest.raises(ValueError):
        Version.parse("-1")


# ------------------------------------------------------------------------------ distro markers


@pytest.mark.parametrize(
    ("text", "distro", "release"),
    [
        ("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10", "debian", "12"),
        ("SSH-2.0-OpenSSH_8.4p1 Debian-5+deb11u3", "debian", "11"),
        ("nginx/1.26.3 ~bpo12+1", "debian", "12"),
        ("Apache/2.4.57 (Debian)", "debian", None),
        ("Apache/2.4.52 (Ubuntu)", "ubuntu", None),
        ("SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10", "ubuntu", None),
        ("PHP/8.3.6-0ubuntu0.24.04.5", "ubuntu", "24.04"),
        ("Apache/2.4.37 (Red Hat Enterprise Linux) OpenSSL/1.1.1k", "rhel", None),
        ("openssh-8.0p1-19.el8_8", "rhel", "8"),
        ("Apache/2.4.37 (Rocky Linux)", "rhel", None),
        ("Apache/2.2.15 (CentOS)", "centos", None),
        ("Apache/2.4.6 (CentOS) 2.4.6-99.el7", "centos", "7"),
    ],
)
def test_distro_markers(text: str, distro: str, release: str | None) -> None:
    hint = distro_hint(text)
    assert hint is not None and (hint.distro, hint.release) == (distro, release)


@pytest.mark.parametrize("text", ["nginx/1.25.3", "SSH-2.0-OpenSSH_10.5p1", "Microsoft-IIS/10.0"])
def test_no_distro_marker(text: str) -> None:
    assert distro_hint(text) is None


def test_find_software_in_one_header_shares_its_distro_marker() -> None:
    found = find_software("Apache/2.4.57 (Debian) OpenSSL/3.0.11 PHP/8.2.7", CAT)
    assert [(s.product.id, s.version) for s in found] == [
        ("apache-httpd", "2.4.57"),
        ("openssl", "3.0.11"),
        ("php", "8.2.7"),
    ]
    assert all(s.distro is not None and s.distro.distro == "debian" for s in found)
    ubuntu = distro_hint("nginx/1.18.0 (Ubuntu)")
    (php,) = find_software("PHP/8.1.2", CAT, context=ubuntu)
    assert php.distro == ubuntu
    assert find_software("Apache-Coyote/1.1", CAT) == []  # Tomcat's connector hides its version


def test_nmap_names_and_cpes_map_to_products() -> None:
    assert (p := product_by_nmap_name("Apache httpd", CAT)) is not None and p.id == "apache-httpd"
    assert product_by_nmap_name("Dovecot imapd", CAT) is None
    found = product_by_cpe("cpe:/a:igor_sysoev:nginx:1.18.0", CAT)
    assert found is not None and (found[0].id, found[1]) == ("nginx", "1.18.0")
    assert product_by_cpe("cpe:/o:linux:linux_kernel", CAT) is None


# ----------------------------------------------------------------------------------- judgement


def _judge(text: str, today: dt.date = TODAY) -> tuple[Severity | None, str]:
    (sw,) = find_software(text, CAT)
    result = judge(sw, CAT, today)
    return result.severity, result.text


def test_known_bad_is_critical() -> None:
    severity, text = _judge("220 (vsFTPd 2.3.4)")
    assert severity is Severity.CRITICAL and "CVE-2011-2523" in text
    severity, text = _judge("OpenSSL/1.0.1f")
    assert severity is Severity.CRITICAL and "Heartbleed" in text


def test_eol_line_is_high_and_behind_latest_is_lower() -> None:
    assert _judge("SSH-2.0-OpenSSH_7.4")[0] is Severity.HIGH
    severity, text = _judge("SSH-2.0-OpenSSH_10.4p1")
    assert severity is Severity.MEDIUM and "behind 10.5p1" in text and "judged by upstream" in text
    assert _judge("SSH-2.0-OpenSSH_10.5p1")[0] is None
    severity, text = _judge("PHP/8.2.20")
    assert severity is Severity.MEDIUM and "behind 8.2.33" in text
    # every supported line records its latest release, so each can be behind
    severity, text = _judge("PHP/8.4.1")
    assert severity is Severity.MEDIUM and "behind 8.4.10" in text
    assert _judge("PHP/8.3.5")[0] is Severity.MEDIUM
    assert _judge("node/v22.1.0")[0] is Severity.MEDIUM
    severity, text = _judge("Microsoft-IIS/10.0")  # IIS banners carry no patch level
    assert severity is None and "latest release of the supported 10.0 line" in text


def test_end_of_life_follows_the_date() -> None:
    severity, text = _judge("OpenSSL/3.0.21")
    assert severity is Severity.HIGH and "end of life on 2026-09-07" in text
    assert _judge("OpenSSL/3.0.21", dt.date(2026, 8, 1))[0] is None


def test_versions_outside_the_catalogue() -> None:
    severity, text = _judge("nginx/1.8.0")
    assert severity is Severity.HIGH and "older than every nginx release line" in text
    severity, text = _judge("nginx/1.40.0")
    assert severity is None and "newer than the catalogue of 2026-08-22 knows" in text
    # lines that were holes in the data: nginx 1.11 and the odd Node.js lines
    severity, text = _judge("nginx/1.11.2")
    assert (
        severity is Severity.HIGH and "release line 1.11 reached end of life on 2017-04-12" in text
    )
    for node in ("node/v11.15.0", "node/v13.2.0", "node/v15.14.0"):
        assert _judge(node)[0] is Severity.HIGH, node


def _without(product: str, cycle: str) -> catalogue.Catalogue:
    raw = yaml.safe_load(Path(CAT.path).read_text())
    lines = raw["products"][product]["lines"]
    raw["products"][product]["lines"] = [ln for ln in lines if str(ln["cycle"]) != cycle]
    return catalogue.parse(raw, "x.yaml")


def test_a_line_missing_from_the_data_but_older_than_every_supported_line_is_end_of_life() -> None:
    cat = _without("nginx", "1.11")
    (sw,) = find_software("nginx/1.11.2", cat)
    result = judge(sw, cat, TODAY)
    assert result.severity is Severity.HIGH
    assert "release line 1.11 is not in the catalogue of 2026-08-22" in result.text
    assert "older than the oldest supported nginx line (1.30)" in result.text
    assert "judged end of life" in result.text
    # a missing line newer than the oldest supported one is not guessed at
    cat = _without("tomcat", "10.1")
    sw = find_software("Tomcat/10.1.2", cat)[0]
    result = judge(sw, cat, TODAY)
    assert result.severity is None and "line 10.1 is not in the catalogue" in result.text


def test_distro_builds_are_judged_by_the_distro_release() -> None:
    # Debian 12 left regular support on 2026-07-11: Debian LTS only, a low finding
    severity, text = _judge("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10")
    assert severity is Severity.LOW
    assert "Debian 12 (bookworm)" in text and "Debian LTS" in text and "2028-06-30" in text
    assert "not upstream" in text
    # upstream line 9 ended in 2025, but the Debian 13 package is in regular support
    severity, text = _judge("SSH-2.0-OpenSSH_10.0p1 Debian-7")
    assert severity is None and "Debian 13 (trixie)" in text and "2028-08-09" in text
    severity, text = _judge("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10", dt.date(2026, 1, 1))
    assert severity is None and "regular security support until 2026-07-11" in text


def test_ambiguous_distro_version_is_judged_by_the_newest_release() -> None:
    severity, text = _judge("nginx/1.18.0 (Ubuntu)")
    assert severity is None and "Ubuntu 20.04 (focal) and Ubuntu 22.04 (jammy)" in text
    assert "judged by the newest, Ubuntu 22.04 (jammy)" in text


def test_extended_and_ended_distro_support() -> None:
    severity, text = _judge("Apache/2.4.29 (Ubuntu)")
    assert severity is Severity.MEDIUM and "Ubuntu Pro (ESM)" in text
    severity, text = _judge("Apache/2.2.15 (CentOS)")
    assert severity is Severity.HIGH and "CentOS Linux 6" in text and "2020-11-30" in text
    # a package revision alone marks the build: 20.04 is in its ESM phase, not upstream EOL
    severity, text = _judge("PHP/7.4.3-4ubuntu2.19")
    assert severity is Severity.MEDIUM and "Ubuntu 20.04 (focal)" in text


def test_unknown_distro_release_is_not_judged_against_upstream() -> None:
    severity, text = _judge("SSH-2.0-OpenSSH_11.1p1 Debian-1+deb14u1")
    assert severity is None and "does not know" in text


def test_a_marker_without_release_is_judged_by_the_newest_release_shipping_the_line() -> None:
    # no exact package match: Debian 13 ships the 2.4 line, and is in regular support
    severity, text = _judge("Apache/2.4.99 (Debian)")
    assert severity is None and "the 2.4 line is what Debian 13 (trixie)" in text
    assert "names no release" in text and "not upstream" in text
    # no supported Debian ships 2.2, so upstream decides, and says so
    severity, text = _judge("Apache/2.2.22 (Debian)")
    assert severity is Severity.HIGH
    assert "no supported Debian release ships the 2.2 line" in text
    assert "judged by upstream" in text and "release line 2.2 reached end of life" in text
    # a line only ended releases ship: upstream, naming the newest release that shipped it
    severity, text = _judge("PHP/7.0.33 (Debian)")
    assert severity is Severity.HIGH and "Debian 9 (stretch), reached end of life" in text


def test_software_label() -> None:
    (sw,) = find_software("lighttpd/1.4.59", CAT)
    assert isinstance(sw, Software) and sw.label == "lighttpd 1.4.59"
    assert judge(sw, CAT, TODAY).severity is Severity.MEDIUM


# ---------------------------------------------------------------------------------- catalogue


REQUIRED = {
    "OpenSSH",
    "nginx",
    "Apache httpd",
    "OpenSSL",
    "PHP",
    "Microsoft IIS",
    "Apache Tomcat",
    "vsftpd",
    "ProFTPD",
    "Exim",
    "Postfix",
    "lighttpd",
    "Node.js",
}


def test_catalogue_covers_the_products_with_a_date_and_source_each() -> None:
    assert CAT.snapshot == dt.date(2026, 8, 22)
    assert REQUIRED <= {p.name for p in CAT.products.values()}
    for product in CAT.products.values():
        assert product.source.startswith("http") and product.as_of <= TODAY
        assert product.lines and product.patterns, product.id
        for line in product.lines:
            assert parse_version(line.cycle) is not None, (product.id, line.cycle)
            assert line.latest is None or parse_version(line.latest) is not None
        for bad in product.known_bad:
            assert bad.reason and bad.source.startswith("http")
    assert {"debian", "ubuntu", "rhel"} <= set(CAT.distros)
    for distro in CAT.distros.values():
        assert distro.source.startswith("http") and distro.releases


def test_catalogue_figures_from_the_field_notes() -> None:
    latest = {(p.id, ln.cycle): ln.latest for p in CAT.products.values() for ln in p.lines}
    assert latest[("nginx", "1.30")] == "1.30.4" and latest[("apache-httpd", "2.4")] == "2.4.68"
    assert latest[("openssh", "10")] == "10.5p1" and latest[("tomcat", "9.0")] == "9.0.121"
    debian12 = CAT.distros["debian"].release("12")
    assert debian12 is not None and debian12.support == dt.date(2026, 7, 11)
    assert debian12.extended == dt.date(2028, 6, 30)


def _numbers(cycle: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", cycle))


def gaps(product: catalogue.Product) -> list[str]:
    """Release lines missing between the product's oldest and newest catalogued line (the data
    promises none: software_catalogue.yaml's header).

    After line p comes q when they agree up to some component, q's component there is the next
    one (skipping lines declared never released) and q's later components are zero:
    1.10 -> 1.11, 1.1.1 -> 3.0 (OpenSSL 2 never released), 5.6 -> 7.0 (PHP 6 neither).
    """
    skipped = {_numbers(c) for c in product.never_released}
    ordered = sorted({_numbers(ln.cycle) for ln in product.lines})
    missing: list[str] = []
    for p, q in itertools.pairwise(ordered):
        width = max(len(p), len(q))
        pp, qq = p + (0,) * (width - len(p)), q + (0,) * (width - len(q))
        i = next(i for i in range(width) if pp[i] != qq[i])
        between = [(*qq[:i], v) for v in range(pp[i] + 1, qq[i])]
        missing += [".".join(map(str, c)) for c in between if c not in skipped]
        if any(qq[i + 1 :]):
            missing.append(".".join(map(str, (*qq[: i + 1], 0))))
    return missing


def test_no_product_has_a_gap_between_its_oldest_and_newest_line() -> None:
    for product in CAT.products.values():
        assert gaps(product) == [], product.id


def test_the_gap_walk_finds_the_holes_it_is_there_for() -> None:
    assert gaps(_without("nginx", "1.11").products["nginx"]) == ["1.11"]
    assert gaps(_without("nodejs", "13").products["nodejs"]) == ["13"]
    assert gaps(_without("openssl", "1.1.0").products["openssl"]) == ["1.1.0"]
    # a line upstream never released is no hole, but only when the data says so
    raw = yaml.safe_load(Path(CAT.path).read_text())
    del raw["products"]["php"]["never_released"]
    assert gaps(catalogue.parse(raw, "x.yaml").products["php"]) == ["6"]


def test_every_line_supported_on_the_snapshot_date_records_its_latest_release() -> None:
    for product in CAT.products.values():
        for line in product.lines:
            if not line.ended(CAT.snapshot):
                assert line.latest is not None, (product.id, line.cycle)
                latest = parse_version(line.latest)
                assert latest is not None and latest.in_line(line.cycle), (product.id, line)


def test_the_catalogue_says_when_it_is_old() -> None:
    snapshot = CAT.snapshot
    assert CAT.stale_note(snapshot + dt.timedelta(days=90)) is None
    note = CAT.stale_note(snapshot + dt.timedelta(days=91))
    assert note is not None and "91 days old" in note and "harness catalogue refresh" in note
    # the snapshot of 2026-08-22 is 100 days old on 2026-11-30
    assert "100 days old" in str(CAT.stale_note(dt.date(2026, 11, 30)))


def test_malformed_catalogue_entry_is_named() -> None:
    raw = yaml.safe_load(Path(CAT.path).read_text())
    raw["products"]["nginx"]["lines"][0]["eol"] = "not a date"
    with pytest.raises(ValueError, match="product 'nginx'"):
        catalogue.parse(raw, "x.yaml")


def test_catalogue_show(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["catalogue", "show"]) == 0
    out = capsys.readouterr().out
    assert "software catalogue snapshot of 2026-08-22" in out and "endoflife.date" in out
    assert "OpenSSH" in out and "10 (10.5p1)" in out and "known bad: 2.3.4" in out
    assert "Debian" in out and "12: 2026-07-11/2028-06-30" in out
    assert "8.4 latest 8.4.10: lower bound" in out  # an approximate figure shows its source


# ------------------------------------------------------------------------------------ refresh

RELEASES = {
    "nginx": [
        {"name": "1.31", "isEol": False, "eolFrom": None, "latest": {"name": "1.31.6"}},
        {"name": "1.30", "isEol": False, "eolFrom": None, "latest": {"name": "1.30.6"}},
        {"name": "1.29", "isEol": True, "eolFrom": "2026-04-21", "latest": {"name": "1.29.8"}},
    ],
    "openssh": [
        {"name": "10.5", "isEol": False, "eolFrom": None, "latest": {"name": "10.5p1"}},
        {"name": "10.4", "isEol": True, "eolFrom": "2026-08-01", "latest": {"name": "10.4p1"}},
        {"name": "9.9", "isEol": True, "eolFrom": "2025-04-09", "latest": {"name": "9.9p2"}},
        {"name": "9.8", "isEol": True, "eolFrom": "2024-09-20", "latest": {"name": "9.8p1"}},
    ],
    "debian": [
        {"name": "13", "codename": "Trixie", "eolFrom": "2028-08-09", "eoesFrom": "2030-06-30"},
        {"name": "12", "codename": "Bookworm", "eolFrom": "2026-06-10", "eoesFrom": "2028-06-30"},
    ],
}


def _shape(name: str, releases: list[dict[str, object]]) -> dict[str, object]:
    """The v1 answer: metadata around result.releases, with fields the refresh ignores."""
    full = [
        {"label": r["name"], "releaseDate": "2020-01-01", "isLts": False, "isMaintained": True, **r}
        for r in releases
    ]
    return {
        "schema_version": "1.2.0",
        "generated_at": "2026-11-28T00:00:00+00:00",
        "result": {"name": name, "label": name, "releases": full},
    }


class _Api(http.server.BaseHTTPRequestHandler):
    broken = False

    def do_GET(self) -> None:
        name = self.path.rsplit("/", 1)[-1]
        if name not in RELEASES:
            self.send_error(404)
            return
        body = b"{not json" if self.broken else json.dumps(_shape(name, RELEASES[name])).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def api() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/v1/products"
    server.shutdown()
    server.server_close()


@pytest.fixture
def shipped(tmp_path: Path) -> Path:
    copy = tmp_path / "catalogue.yaml"
    shutil.copy(CAT.path, copy)
    return copy


def test_refresh_from_an_endoflife_style_api(
    api: str, shipped: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "refreshed.yaml"
    argv = ["refresh", "--catalogue", str(shipped), "--source-url", api, "--output", str(out)]
    assert catalogue_main(argv) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "nginx: 3 release(s) from" in printed and "vsftpd: not tracked" in printed
    assert "php: " in printed and "not found; snapshot entry kept" in printed
    new = catalogue.parse(yaml.safe_load(out.read_text()), str(out))
    assert new.snapshot == dt.date.today()
    nginx = {ln.cycle: ln for ln in new.products["nginx"].lines}
    assert {"1.31", "1.30", "1.29"} <= set(nginx) and nginx["1.30"].latest == "1.30.6"
    assert nginx["1.29"].eol == dt.date(2026, 4, 21)
    # lines the source does not list are kept, so a refresh opens no gap
    assert nginx["1.11"] == next(ln for ln in CAT.products["nginx"].lines if ln.cycle == "1.11")
    assert all(gaps(p) == [] for p in new.products.values())
    # per-release cycles fold into the catalogue's major lines (line_depth: 1)
    ssh = {ln.cycle: ln for ln in new.products["openssh"].lines}
    assert {"10", "9"} <= set(ssh) and ssh["10"].eol is False and ssh["10"].latest == "10.5p1"
    assert ssh["9"].eol == dt.date(2025, 4, 9) and ssh["9"].latest == "9.9p2"
    assert new.products["openssh"].known_bad == CAT.products["openssh"].known_bad
    assert new.products["php"].lines == CAT.products["php"].lines  # 404: kept
    debian = new.distros["debian"]
    assert [r.release for r in debian.releases] == ["13", "12"]
    assert debian.packages == CAT.distros["debian"].packages
    assert shipped.read_text() == Path(CAT.path).read_text()  # --output left the source alone


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_refresh_offline_fails_clearly_and_changes_nothing(
    shipped: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = shipped.read_text()
    url = f"http://127.0.0.1:{_closed_port()}/api/v1/products"
    assert catalogue_main(["refresh", "--catalogue", str(shipped), "--source-url", url]) == 1
    err = capsys.readouterr().err
    assert "cannot reach" in err and "Nothing was changed" in err and "2026-08-22" in err
    assert shipped.read_text() == before


def test_refresh_rejects_an_unexpected_answer(
    api: str, shipped: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(_Api, "broken", True)
    before = shipped.read_text()
    assert catalogue_main(["refresh", "--catalogue", str(shipped), "--source-url", api]) == 1
    assert "unexpected answer" in capsys.readouterr().err
    assert shipped.read_text() == before
