"""The HTTP login kinds: basic, digest, a form (with CSRF token and cookies), and a JSON API."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.auth import AuthBase, HTTPBasicAuth, HTTPDigestAuth

from harness import redact
from harness.errors import FailureKind, ProbeFailure
from harness.inventory import LoginEndpoint
from harness.probes import Job, scope
from harness.probes.logins.html_forms import Form
from harness.probes.logins.model import Anonymous, Answer, Channel, Unmeasurable
from harness.probes.logins.web import (
    CSRF_META,
    Page,
    describe,
    fetch,
    has_password_input,
    in_scope,
    parse_forms,
    session,
    shape,
    signals,
    verify_of,
)

TOKEN_KEYS = ("token", "access_token", "id_token", "jwt", "auth_token")
MAX_REDIRECTS = 5  # followed on the same host when checking a protected URL without credentials


class HttpClient:
    """What every HTTP kind shares: the channel, anonymous access and the success criteria."""

    throttles_by_refusing = False

    def __init__(self, job: Job, base_dir: Path | None) -> None:
        assert isinstance(job.endpoint, LoginEndpoint) and job.endpoint.url is not None
        self.ep: LoginEndpoint = job.endpoint
        self.url: str = job.endpoint.url
        self.timeout = job.settings.timeout
        self.verify = verify_of(job, base_dir)

    def _get(self, url: str, **kw: Any) -> Page:
        return fetch(session(), "GET", url, self.timeout, self.verify, **kw)

    def channel(self) -> Channel:
        if urlsplit(self.url).scheme == "https":
            return Channel(True, "HTTPS")
        return Channel(
            False, "plain HTTP", (f"the login at {self.url} takes credentials over plain HTTP",)
        )

    def password_auth(self) -> str | None:
        return None

    def close(self) -> None:
        return None

    def protected_url(self) -> str | None:
        return self.ep.protected_url

    def anonymous(self) -> Anonymous | ProbeFailure | None:
        url = self.protected_url()
        if url is None:
            return None
        what = f"GET {url} without credentials"
        page, here = self._get(url), url
        for hops in range(MAX_REDIRECTS + 1):
            if not (300 <= page.status < 400 and page.location):
                break
            if hops == MAX_REDIRECTS:  # a loop never serves anything, nor proves it is protected
                return ProbeFailure(
                    FailureKind.PROTOCOL,
                    url,
                    f"{url} still redirects after {MAX_REDIRECTS} redirects without credentials "
                    "(a redirect loop?), so what it serves is unknown",
                )
            here = urljoin(here, page.location)
            if not scope.allows(here):  # never followed off the declared origins
                return ProbeFailure(
                    FailureKind.SCOPE,
                    url,
                    f"without credentials {url} redirects to {redact.clip(here, 200)}, outside "
                    "the origins declared for this endpoint, so it was not followed and what "
                    "a client meets there is unknown. Fix: declare a protected_url whose answer "
                    "stays on a declared origin",
                )
            page = self._get(here)
        if page.status in (401, 403) or 300 <= page.status < 400:
            return Anonymous(False, what, describe(page))
        if page.status >= 400:
            return ProbeFailure(
                FailureKind.PROTOCOL,
                url,
                f"the protected URL answered HTTP {page.status} without credentials; declare a URL "
                "that exists behind the login",
            )
        if has_password_input(page.text):
            return Anonymous(False, what, f"{describe(page)} with a login form")
        # control: a random sibling path; an app that serves anything anywhere cannot be judged
        sibling = url.rstrip("/") + "/harness-" + secrets.token_hex(6)
        other = self._get(sibling)
        if other.status < 300 and other.text == page.text:
            return ProbeFailure(
                FailureKind.AMBIGUOUS,
                url,
                f"the server answers a random path ({sibling}) with the same page, so serving "
                f"{url} without credentials says nothing about access control",
            )
        return Anonymous(True, what, f"{describe(page)}, {len(page.text)} characters of content")

    def judge(self, page: Page, default: bool | None, token: bool | None = None) -> Answer:
        """Apply every declared success signal (all must hold), else the kind's default."""
        ep = self.ep
        checks: list[bool] = []
        notes: list[str] = []
        if ep.success_status:
            checks.append(page.status in ep.success_status)
        if ep.success_redirect:
            checks.append(300 <= page.status < 400 and ep.success_redirect in page.location)
        if ep.success_cookie:
            checks.append(ep.success_cookie in page.cookies)
        if ep.success_text:
            present = ep.success_text in page.text
            checks.append(present)
            notes.append("success text " + ("present" if present else "absent"))
        if ep.failure_text:
            present = ep.failure_text in page.text
            checks.append(not present)
            notes.append("failure text " + ("present" if present else "absent"))
        if token is not None:
            checks.append(token)
            notes.append("token " + ("returned" if token else "absent"))
        if checks and not ep.success_status:
            # an error page (a CSRF refusal, a 500) never counts as a success, whatever its text
            checks.append(page.status < 400)
        accepted = all(checks) if checks else default
        detail = ", ".join([describe(page, limit=None), *notes])  # the engine masks, then clips
        # a relative Location stays on the request's (declared) origin; an absolute one may not
        off = 300 <= page.status < 400 and urlsplit(page.location).netloc != ""
        elsewhere = page.location if off and not scope.allows(page.location) else ""
        return Answer(accepted, detail, shape(page), signals(page), page.latency, elsewhere)


class BasicClient(HttpClient):
    scheme = "basic"

    def auth(self, username: str, password: str) -> AuthBase:
        return HTTPBasicAuth(username, password)

    def channel(self) -> Channel:
        page = self._get(self.url)
        challenge = page.headers.get("www-authenticate", "")
        if page.status == 401 and not challenge.lower().startswith(self.scheme):
            offered = challenge.split(" ", 1)[0] or "no scheme"
            raise Unmeasurable(
                FailureKind.PROTOCOL,
                f"{self.url} asks for {offered} authentication, not {self.scheme.title()}; "
                "declare the matching kind",
            )
        if page.status not in (401, 403) and page.status >= 400:
            raise Unmeasurable(
                FailureKind.PROTOCOL,
                f"{self.url} answered HTTP {page.status} without credentials, not a 401 challenge",
            )
        found = super().channel()
        if found.encrypted:
            return found
        how = (
            "base64, readable by anyone on the path"
            if self.scheme == "basic"
            else ("an MD5 challenge-response that can be cracked offline")
        )
        return Channel(
            False,
            "plain HTTP",
            (f"{self.url} takes {self.scheme.title()} credentials over plain HTTP ({how})",),
        )

    def protected_url(self) -> str | None:
        return self.ep.protected_url or self.url

    def attempt(self, username: str, password: str, secret: bool = False) -> Answer:
        page = fetch(
            session(),
            "GET",
            self.url,
            self.timeout,
            self.verify,
            auth=self.auth(username, password),
        )
        return self.judge(page, default=200 <= page.status < 400)


class DigestClient(BasicClient):
    scheme = "digest"

    def auth(self, username: str, password: str) -> AuthBase:
        return HTTPDigestAuth(username, password)


class FormClient(HttpClient):
    """Fetch the form in a fresh session for every attempt, so its CSRF token and cookies match."""

    def _form(self, s: requests.Session) -> tuple[Form, dict[str, str]]:
        page = fetch(s, "GET", self.url, self.timeout, self.verify)
        if page.status != 200:
            raise Unmeasurable(
                FailureKind.PROTOCOL,
                f"the login page {self.url} answered {describe(page)}, not 200",
            )
        forms, meta = parse_forms(page.text, self.url)
        want = self.ep.password_field
        for form in forms:
            if any(
                (want and n == want) or (not want and t == "password") for n, t, _ in form.inputs
            ):
                in_scope(form.action, f"the login form at {self.url} posts to it: its action")
                return form, meta
        raise Unmeasurable(
            FailureKind.PROTOCOL,
            f"no form with the password field {want or '(type=password)'} at {self.url}",
        )

    def channel(self) -> Channel:
        form, _ = self._form(session())
        problems: list[str] = []
        page_plain = urlsplit(self.url).scheme != "https"
        post_plain = urlsplit(form.action).scheme != "https"
        if page_plain and post_plain:
            problems.append(f"the login form {self.url} is served and posted over plain HTTP")
        elif post_plain:
            problems.append(f"the login form posts credentials to {form.action} over plain HTTP")
        elif page_plain:
            problems.append(
                f"the login form {self.url} is served over plain HTTP, so it can be altered "
                "in transit even though it posts to HTTPS"
            )
        return Channel(not problems, "HTTPS" if not problems else "plain HTTP", tuple(problems))

    def _fields(self, form: Form) -> tuple[str, str]:
        user = self.ep.username_field
        if not user:
            texts = [n for n, t, _ in form.inputs if t in ("text", "email")]
            user = texts[0] if texts else "username"
        pw = self.ep.password_field or next(n for n, t, _ in form.inputs if t == "password")
        return user, pw

    def attempt(self, username: str, password: str, secret: bool = False) -> Answer:
        s = session()
        form, meta = self._form(s)
        user_field, pw_field = self._fields(form)
        data = {n: v for n, t, v in form.inputs if t == "hidden"}
        headers: dict[str, str] = {}
        token = next((meta[m] for m in CSRF_META if meta.get(m)), None)
        if token:
            headers["X-CSRF-Token"] = token
            if self.ep.csrf_field and not data.get(self.ep.csrf_field):
                data[self.ep.csrf_field] = token
        data[user_field], data[pw_field] = username, password
        if form.method == "get":
            page = fetch(s, "GET", form.action, self.timeout, self.verify, params=data)
        else:
            page = fetch(
                s, "POST", form.action, self.timeout, self.verify, data=data, headers=headers
            )
        return self.judge(page, default=None)


class JsonClient(HttpClient):
    def attempt(self, username: str, password: str, secret: bool = False) -> Answer:
        body = {
            self.ep.username_field or "username": username,
            self.ep.password_field or "password": password,
        }
        page = fetch(session(), "POST", self.url, self.timeout, self.verify, json=body)
        try:
            doc: Any = json.loads(page.text) if page.text.strip() else None
        except (ValueError, RecursionError):  # not JSON, or nested deeper than a real answer
            doc = None
        if self.ep.token_field:
            return self.judge(page, default=None, token=bool(_lookup(doc, self.ep.token_field)))
        # success by status or token: a 2xx answer is a success unless a signal says otherwise,
        # so an API that answers 200 to anything fails the control attempt (ambiguous, broken)
        # instead of looking like one that refuses every guess
        has_token = any(_lookup(doc, k) for k in TOKEN_KEYS)
        return self.judge(page, default=True if page.status < 300 or has_token else None)


def _lookup(doc: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(doc, dict):
            return None
        doc = doc.get(part)
    return doc
