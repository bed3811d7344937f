"""HTTP plumbing shared by the HTTP login kinds: requests with typed failures, forms, signals."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from harness import redact
from harness.errors import FailureKind
from harness.probes import Job, scope
from harness.probes.deadline import Watchdog, current, deadline_for
from harness.probes.logins import html_forms
from harness.probes.logins.html_forms import Form
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


class _Session(requests.Session):
    def get_redirect_target(self, resp: requests.Response) -> str | None:
        # the probes read `Location` themselves and never follow it; requests would decode it
        # as UTF-8 here even so, and a non-UTF-8 byte in it would crash the probe
        return None


def session() -> requests.Session:
    s = _Session()
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


def in_scope(url: str, what: str = "the request") -> None:
    """The scope gate (harness.probes.scope) as this module's typed failure."""
    try:
        scope.check(url, what)
    except scope.OutOfScope as exc:
        raise Unmeasurable(exc.kind, exc.reason) from None


def fetch(
    s: requests.Session, method: str, url: str, timeout: float, verify: str | bool, **kw: Any
) -> Page:
    """One request, read up to MAX_BODY, within deadline_for(timeout) whatever the server does;
    only to a declared origin of the endpoint under probe (every HTTP request passes here)."""
    in_scope(url)
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
    text = _decode(b"".join(chunks)[:MAX_BODY], resp.encoding)
    headers = {k.lower(): v for k, v in resp.headers.items()}
    return Page(
        resp.status_code,
        headers,
        tuple(sorted(resp.cookies.keys())),
        text,
        time.monotonic() - start,
    )


def _decode(body: bytes, charset: str | None) -> str:
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know: read it as UTF-8
        return body.decode("utf-8", errors="replace")


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
    """Status, redirect and cookie names; the redirect masked before it is cut to `limit`
    (a secret cut first would escape the mask). `limit=None` keeps it whole."""
    parts = [f"HTTP {page.status}"]
    if page.location:
        where = page.location if limit is None else redact.clip(page.location, limit)
        parts.append(f"redirect to {where}")
    if page.cookies:
        parts.append("sets cookie " + ", ".join(page.cookies))
    return ", ".join(parts)


def shape(page: Page) -> tuple[str, ...]:
    return (str(page.status), page.location, *page.cookies)


def parse_forms(page: str, base_url: str) -> tuple[list[Form], dict[str, str]]:
    found = html_forms.read(page)
    for form in found.forms:
        form.action = urljoin(base_url, form.action or base_url)
    return found.forms, found.meta


def has_password_input(page: str) -> bool:
    return html_forms.read(page).password_input
