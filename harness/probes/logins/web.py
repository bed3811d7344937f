"""HTTP plumbing shared by the HTTP login kinds: requests with typed failures, forms, signals."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from harness.errors import FailureKind
from harness.probes import Job
from harness.probes.deadline import Watchdog, current, deadline_for
from harness.probes.logins.model import Unmeasurable

MAX_BODY = 256 * 1024  # enough for any login page; a huge answer is not read further
USER_AGENT = "harness-logins/0.1 (authorised security check)"
CSRF_META = ("csrf-token", "csrf_token", "_csrf", "xsrf-token")
# lockout, throttling and CAPTCHA wording; matched on the lower-cased body
LOCKOUT_TEXT = (
    (r"account (?:is |has been )?(?:temporarily )?(?:locked|disabled|suspended)", "account locked"),
    (r"locked out", "account locked"),
    (r"too many (?:\w+ ){0,3}(?:attempts|requests|tries|failures)", "too many attempts"),
    (r"try again (?:later|in \d+)", "try again later"),
    (r"temporarily (?:locked|blocked)", "temporarily blocked"),
    (r"captcha", "CAPTCHA"),
)


@dataclass(frozen=True)
class Page:
    status: int
    headers: dict[str, str]
    cookies: tuple[str, ...]
    text: str
    latency: float

    @property
    def location(self) -> str:
        return self.headers.get("location", "")


def verify_of(job: Job, base_dir: Path | None) -> str | bool:
    """Verify HTTPS against the declared CA bundle, or the system store: a credential is never
    sent to a server whose certificate cannot be checked."""
    ca = job.settings.ca_bundle
    if ca is None:
        return True
    return str(ca if ca.is_absolute() or base_dir is None else base_dir / ca)


def session() -> requests.Session:
    s = requests.Session()
    s.headers["User-Agent"] = USER_AGENT
    s.trust_env = False  # no proxies or .netrc credentials from the environment
    adapter = _WatchedAdapter()
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    return s


# Every socket a session opens, and every reused one, is handed to the fetch's watchdog, so a
# server that drips its answer a byte at a time cannot hold a probe past the deadline.
class _WatchedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> Any:
        sock = super()._new_conn()
        _watch(sock)
        return sock

    def getresponse(self) -> Any:
        _watch(self.sock)
        return super().getresponse()


class _WatchedHTTPSConnection(_WatchedHTTPConnection, HTTPSConnection):
    pass


class _WatchedPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _WatchedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _WatchedPool,
            "https": _WatchedHTTPSPool,
        }


def _watch(sock: Any) -> None:
    watchdog = current()
    if watchdog is not None and sock is not None:
        watchdog.watch(sock)


def fetch(
    s: requests.Session, method: str, url: str, timeout: float, verify: str | bool, **kw: Any
) -> Page:
    """One request, read up to MAX_BODY, within deadline_for(timeout) whatever the server does."""
    netloc = urlsplit(url).netloc
    start = time.monotonic()
    limit = deadline_for(timeout)
    with Watchdog(limit) as watchdog:
        try:
            resp = s.request(
                method,
                url,
                timeout=timeout,
                verify=verify,
                allow_redirects=False,
                stream=True,
                **kw,
            )
            chunks, size = [], 0
            for chunk in resp.iter_content(16384):
                chunks.append(chunk)
                size += len(chunk)
                if size >= MAX_BODY:
                    break
            resp.close()
        except requests.exceptions.RequestException as exc:
            if watchdog.fired:
                raise Unmeasurable(
                    FailureKind.TIMEOUT,
                    f"{netloc} did not finish its answer within {limit:g} s ({_TOO_SLOW})",
                ) from None
            raise _unmeasurable(exc, url, netloc, timeout) from None
    text = b"".join(chunks)[:MAX_BODY].decode(resp.encoding or "utf-8", errors="replace")
    headers = {k.lower(): v for k, v in resp.headers.items()}
    return Page(
        resp.status_code,
        headers,
        tuple(sorted(resp.cookies.keys())),
        text,
        time.monotonic() - start,
    )


_TOO_SLOW = "it answers too slowly, a byte at a time, or without end"
_MALFORMED = ("got more than", "LineTooLong", "BadStatusLine", "line too long", "InvalidHeader")


def _unmeasurable(
    exc: requests.exceptions.RequestException, url: str, netloc: str, timeout: float
) -> Unmeasurable:
    if isinstance(exc, requests.exceptions.SSLError):
        return Unmeasurable(
            FailureKind.PROTOCOL,
            f"the TLS handshake with {netloc} failed or its certificate is not trusted; "
            "credentials are only sent over a verified channel (set ca_bundle for a private CA)",
        )
    if isinstance(exc, requests.exceptions.Timeout):
        return Unmeasurable(FailureKind.TIMEOUT, f"{netloc} did not answer within {timeout} s")
    text = str(exc)
    if isinstance(exc, requests.exceptions.ConnectionError):
        if "resolve" in text or "Name or service not known" in text:
            return Unmeasurable(FailureKind.DNS, f"the name in {url} does not resolve")
        if any(m in text for m in _MALFORMED):
            return Unmeasurable(
                FailureKind.PROTOCOL,
                f"{netloc} did not answer with valid HTTP (a malformed, oversized or endless "
                "status line or header block)",
            )
        return Unmeasurable(FailureKind.REFUSED, f"the connection to {netloc} was refused or reset")
    return Unmeasurable(FailureKind.ERROR, f"the request to {url} failed ({type(exc).__name__})")


def signals(page: Page) -> tuple[str, ...]:
    out: list[str] = []
    if page.status == 429:
        out.append("HTTP 429 Too Many Requests")
    if page.status == 423:
        out.append("HTTP 423 Locked")
    if "retry-after" in page.headers:
        out.append(f"Retry-After: {page.headers['retry-after']}")  # clipped after masking
    low = page.text.lower()
    out.extend(f"text: {label}" for pattern, label in LOCKOUT_TEXT if re.search(pattern, low))
    return tuple(dict.fromkeys(out))


def describe(page: Page, limit: int | None = 120) -> str:
    """Status, redirect and cookie names. `limit=None` keeps the whole redirect, for a caller
    that masks secrets first and clips after (a clipped secret would escape the mask)."""
    parts = [f"HTTP {page.status}"]
    if page.location:
        parts.append(f"redirect to {page.location[:limit]}")
    if page.cookies:
        parts.append("sets cookie " + ", ".join(page.cookies))
    return ", ".join(parts)


def shape(page: Page) -> tuple[str, ...]:
    return (str(page.status), page.location, *page.cookies)


@dataclass
class Form:
    action: str
    method: str
    inputs: list[tuple[str, str, str]] = field(default_factory=list)  # name, type, value


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.meta: dict[str, str] = {}
        self._open: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._open = Form(a.get("action", ""), (a.get("method") or "get").lower())
            self.forms.append(self._open)
        elif tag == "input" and self._open is not None and a.get("name"):
            self._open.inputs.append(
                (a["name"], (a.get("type") or "text").lower(), a.get("value", ""))
            )
        elif tag == "meta" and a.get("name"):
            self.meta[a["name"].lower()] = a.get("content", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


def parse_forms(html: str, base_url: str) -> tuple[list[Form], dict[str, str]]:
    parser = _FormParser()
    parser.feed(html)
    for form in parser.forms:
        form.action = urljoin(base_url, form.action or base_url)
    return parser.forms, parser.meta


def has_password_input(html: str) -> bool:
    return re.search(r"<input[^>]+type\s*=\s*[\"']?password", html, re.IGNORECASE) is not None
