"""The HTML report calls no one: both the report folder and the single-file report are opened in
headless Chromium, every request is recorded through the DevTools protocol, and none may leave
the report's own origin (Allure 3.18 embeds Google Analytics unless the harness removes it)."""

from __future__ import annotations

import functools
import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import browser, off_origin
from plugin_lab import make_lab

from harness.output import offline
from harness.output.report import find_allure

pytest_plugins = ["pytester"]
needs_allure = pytest.mark.skipif(find_allure() is None, reason="Allure CLI missing: run `npm ci`")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "site"
    root.mkdir()
    handler = functools.partial(_Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()


def test_the_recorder_sees_an_outside_call(tmp_path: Path) -> None:
    # the proof below is only worth something if a tag like Allure's is caught
    page_file = tmp_path / "page.html"
    page_file.write_text(
        '<html><body>x<script async src="https://www.googletagmanager.com/gtag/js?id=G-1">'
        "</script></body></html>"
    )
    with browser(tmp_path / "profile") as page:
        page.open(page_file.as_uri())
    assert off_origin(page.requests, "file://") == [
        "https://www.googletagmanager.com/gtag/js?id=G-1"
    ]


def test_strip_removes_allures_analytics_block() -> None:
    html = (
        "<body><div id=app></div>\n"
        '<script async src="https://www.googletagmanager.com/gtag/js?id=G-LNDJ3J7WT0"></script>\n'
        "<script>\n window.dataLayer = window.dataLayer || [];\n"
        " function gtag(){dataLayer.push(arguments);}\n gtag('js', new Date());\n</script>\n"
        '<script src="app.js"></script></body>'
    )
    clean = offline.strip_analytics(html)
    assert "gtag" not in clean and "googletagmanager" not in clean
    assert '<script src="app.js"></script>' in clean and offline.remote_references(clean) == []
    assert offline.remote_references('<link rel="stylesheet" href="//fonts.example/x.css">')


@needs_allure
def test_both_reports_make_no_outside_request(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    site: tuple[str, Path],
    tmp_path: Path,
) -> None:
    lab = make_lab(pytester, monkeypatch)
    lab.runpytest("-p", "no:cacheprovider", "--alluredir", "results")
    origin, root = site
    single = tmp_path / "single" / "report.html"
    out = subprocess.run(
        [
            *(sys.executable, "-m", "harness.cli", "report", "--results", "results"),
            *("--output", str(root), "--history", "none", "--single-file", str(single)),
        ],
        cwd=lab.path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 1, out.stderr  # built; incomplete, as down-01 was not measured
    for html in (root / "index.html", single):
        text = html.read_text()
        assert "googletagmanager" not in text and "gtag(" not in text, html
    with browser(tmp_path / "profile1") as page:
        page.open(origin + "/index.html")
        assert "web-01" in page.text()  # the report rendered, so its requests were made
    assert len(page.requests) > 1
    assert off_origin(page.requests, origin + "/") == []
    with browser(tmp_path / "profile2") as page:
        page.open(single.as_uri())
        assert "web-01" in page.text()
    assert off_origin(page.requests, "file://") == []


@needs_allure
def test_a_report_made_twice_into_one_folder_is_a_fresh_one_and_calls_no_one(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    site: tuple[str, Path],
    tmp_path: Path,
) -> None:
    """Allure 3 writes into a non-empty folder beside what is there (a second run left an
    `awesome/` report with Google's tag): a rerun must give the files of a fresh run, and no
    page anywhere under the folder may load anything from another host."""
    lab = make_lab(pytester, monkeypatch)
    lab.runpytest("-p", "no:cacheprovider", "--alluredir", "results")
    origin, root = site

    def report(output: Path) -> None:
        out = subprocess.run(
            [
                *(sys.executable, "-m", "harness.cli", "report", "--results", "results"),
                *("--output", str(output), "--history", "none"),
            ],
            cwd=lab.path,
            capture_output=True,
            text=True,
            timeout=600,
        )
        # built; 1 says the run was incomplete (the lab's down-01 is dead on purpose)
        assert out.returncode == 1 and "incomplete" in out.stderr, out.stderr

    def files(folder: Path) -> set[str]:
        return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}

    report(root)
    report(root)
    fresh = tmp_path / "fresh"
    report(fresh)
    assert files(root) == files(fresh)
    pages = sorted(p for p in root.rglob("*.html"))
    assert pages and not [p for p in pages if "googletagmanager" in p.read_text()]
    for n, html in enumerate(pages):
        with browser(tmp_path / f"profile{n}") as page:
            page.open(f"{origin}/{html.relative_to(root).as_posix()}")
            assert "web-01" in page.text()
        assert off_origin(page.requests, origin + "/") == [], html
    # a folder that holds something else is never replaced
    other = tmp_path / "notes"
    other.mkdir()
    (other / "mine.txt").write_text("keep")
    out = subprocess.run(
        [
            *(sys.executable, "-m", "harness.cli", "report", "--results", "results"),
            *("--output", str(other), "--history", "none"),
        ],
        cwd=lab.path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 4 and "holds no report" in out.stderr
    assert (other / "mine.txt").read_text() == "keep"
