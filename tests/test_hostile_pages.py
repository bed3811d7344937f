"""No page can stall a run: the worst inputs we know, fed to every parser the probes and policies
run on what a server sent, each under a CPU-time bound far below what the quadratic versions
cost (31 s for `"<input " * 37450` in the old password-input pattern, 63 s for `"<a" * 131072`
in html.parser, 21 s for a 64 KB `"a."` header in the banner pattern). Then the same pages from
a real server, through the login probe end to end.
"""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from http_sites import Site

from harness.inventory import load
from harness.policy.banners import disclosed
from harness.policy.versions import distro_hint, parse_version
from harness.probes.banners_model import Banner
from harness.probes.logins import html_forms
from harness.probes.logins.engine import probe_endpoint
from harness.probes.logins.web import MAX_BODY, Page, signals
from harness.session.subjects import subjects

HOST = "127.0.0.1"
BOUND = 2.0  # seconds of CPU per parser per page: generous for linear work on 256 KB
N = MAX_BODY


def _pages(n: int) -> dict[str, str]:
    return {
        "repeated <input ": ("<input " * n)[:n],
        "unclosed tags <a": ("<a" * n)[:n],
        "x<": ("x<" * n)[:n],
        "lone <": "<" * n,
        "unclosed quotes": ('<input a="' * n)[:n],
        "unclosed comment": ("<!--" * n)[:n],
        "unclosed script": ("<script>" * n)[:n],
        "attribute soup": "<input " + ("a=" * n)[:n],
        "entities": "<input value='" + ("&#" * n)[:n],
        "word boundaries a.": ("a." * n)[:n],
        "a1.": ("a1." * n)[:n],
        "a-": ("a-" * n)[:n],
        "too many": ("too many " * n)[:n],
        "account": ("account is " * n)[:n],
        "digits": ("1." * n)[:n],
        "deep json": "[" * n,
        "many forms": ('<form><input type=password name=p value="x">' * n)[:n],
    }


PARSERS: dict[str, Callable[[str], Any]] = {
    "html forms": html_forms.read,
    "lockout signals": lambda text: signals(Page(200, {"retry-after": text}, (), text, 0.0)),
    "banner tokens (header)": lambda text: disclosed(Banner("Server header", "x", text)),
    "banner tokens (greeting)": lambda text: disclosed(Banner("FTP greeting", "x", text)),
    "version": parse_version,
    "distro hint": distro_hint,
}


@pytest.mark.parametrize("parser", list(PARSERS))
def test_every_parser_is_bounded_on_the_worst_pages(parser: str) -> None:
    slow = {}
    for name, page in _pages(N).items():
        start = time.process_time()
        PARSERS[parser](page)
        spent = time.process_time() - start
        if spent > BOUND:
            slow[name] = round(spent, 1)
    assert slow == {}, f"{parser}: CPU seconds per page over {BOUND}: {slow}"


def page_server(body: str, content_type: str = "text/html") -> Site:
    """Serves one hostile page at every path, for GET and POST."""
    return Site({}, HOST, default=(200, {"Content-Type": content_type}, body))


@pytest.fixture
def servers() -> Iterator[list[Site]]:
    started: list[Site] = []
    yield started
    for s in started:
        s.close()


@pytest.mark.parametrize(
    ("kind", "page"),
    [
        ("http-form", "repeated <input "),
        ("http-form", "unclosed tags <a"),
        ("http-basic", "repeated <input "),  # the anonymous check reads the protected page
        ("http-json", "deep json"),
    ],
)
def test_a_real_server_with_a_hostile_page_cannot_stall_the_probe(
    tmp_path: Path, servers: list[Site], kind: str, page: str
) -> None:
    body = _pages(N)[page]
    server = page_server(body, "application/json" if kind == "http-json" else "text/html")
    servers.append(server)
    url = f"http://{HOST}:{server.port}/login"
    text = f"""\
    version: 1
    defaults: {{timeout: 3, login_delay: 0, login_attempt_budget: 6}}
    targets:
      - name: t
        host: {HOST}
        logins:
          - {{kind: {kind}, url: '{url}', protected_url: '{url}'}}
    """
    (tmp_path / "targets.yaml").write_text(textwrap.dedent(text))
    (job,) = subjects(load(tmp_path / "targets.yaml"), "logins")
    start = time.thread_time()  # the probe runs on this thread: its CPU, not the server's
    result, log = probe_endpoint(job, tmp_path)
    spent = time.thread_time() - start
    assert spent < 4 * BOUND, f"{spent:.1f} s of CPU"
    assert "crashed" not in str(result), result
    assert json.dumps(str(result))  # a plain, printable outcome
    assert log
