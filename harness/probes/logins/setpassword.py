"""A declared password-setting endpoint (registration or change): which weak passwords it takes.

Each submission uses a fresh throwaway username, so registrations never collide. A strong random
password goes first: an endpoint that refuses it too cannot show a policy, and is reported so.
Every accepted submission creates a real account: each is listed in the result, and deleted
through the endpoint's `delete_url` when it declares one.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from urllib.parse import quote

from harness.data import passwords
from harness.errors import FailureKind, ProbeFailure
from harness.inventory import PasswordPolicyEndpoint
from harness.probes import Job
from harness.probes.logins.model import (
    CreatedAccount,
    PasswordPolicyResult,
    PolicySample,
    Unmeasurable,
    left_behind,
)
from harness.probes.logins.web import (
    Page,
    describe,
    fetch,
    in_scope,
    parse_forms,
    session,
    verify_of,
)


def probe_password_policy(
    job: Job, pp: PasswordPolicyEndpoint, base_dir: Path | None
) -> PasswordPolicyResult | ProbeFailure:
    verify = verify_of(job, base_dir)
    timeout = job.settings.timeout
    samples = [str(s) for s in passwords.policy_data()["samples"]]
    samples = samples[: max(0, job.settings.login_attempt_budget - 1)]
    where = f"{job.target.name} (password-setting endpoint {pp.url})"

    created: list[str] = []

    def submit(password: str) -> tuple[bool, str]:
        user = "harness-probe-" + secrets.token_hex(5)
        page = (
            _submit_form(pp, user, password, timeout, verify)
            if pp.kind == "form"
            else fetch(
                session(),
                "POST",
                pp.url,
                timeout,
                verify,
                json={pp.username_field: user, pp.password_field: password},
            )
        )
        ok = _accepted(pp, page)
        if ok:
            created.append(user)
        return ok, describe(page)

    try:
        strong = secrets.token_urlsafe(18) + "Aa1!"
        ok, control = submit(strong)
        if not ok:
            return ProbeFailure(
                FailureKind.AMBIGUOUS,
                where,
                f"the endpoint refused a strong random password too ({control}), so its refusals "
                "say nothing about a policy; check username_field, password_field and the "
                "success signal",
            )
        results: list[PolicySample] = []
        for sample in samples:
            time.sleep(job.settings.login_delay)
            ok, detail = submit(sample)
            results.append(PolicySample(sample, ok, detail))
    except Unmeasurable as exc:
        left = _cleanup(pp, created, timeout, verify)
        said = f"; {left_behind(left)}" if left else ""
        return ProbeFailure(exc.kind, where, exc.reason + said)
    return PasswordPolicyResult(
        pp.url,
        pp.policy,
        pp.mfa,
        tuple(results),
        control,
        _cleanup(pp, created, timeout, verify),
    )


def _cleanup(
    pp: PasswordPolicyEndpoint, users: list[str], timeout: float, verify: str | bool
) -> tuple[CreatedAccount, ...]:
    """Delete each created account through delete_url, if declared; say what became of each."""
    if not pp.delete_url:
        return tuple(CreatedAccount(u, pp.url) for u in users)
    out: list[CreatedAccount] = []
    for user in users:
        url = pp.delete_url.replace("{username}", quote(user, safe=""))
        try:
            page = fetch(session(), pp.delete_method, url, timeout, verify)
        except Unmeasurable as exc:
            out.append(CreatedAccount(user, pp.url, False, f"{pp.delete_method} {url}: {exc}"))
            continue
        out.append(
            CreatedAccount(
                user,
                pp.url,
                200 <= page.status < 300,
                f"{pp.delete_method} {url}: HTTP {page.status}",
            )
        )
    return tuple(out)


def _submit_form(
    pp: PasswordPolicyEndpoint, user: str, password: str, timeout: float, verify: str | bool
) -> Page:
    s = session()
    page = fetch(s, "GET", pp.url, timeout, verify)
    forms, _ = parse_forms(page.text, pp.url)
    form = next((f for f in forms if any(t == "password" for _, t, _ in f.inputs)), None)
    if page.status != 200 or form is None:
        raise Unmeasurable(
            FailureKind.PROTOCOL, f"no form with a password field at {pp.url} ({describe(page)})"
        )
    data: dict[str, str] = {}
    for name, kind, value in form.inputs:
        if kind == "hidden":
            data[name] = value  # CSRF token and the like, bound to this session's cookie
        elif kind == "password" or name == pp.password_field:
            data[name] = password  # the password and its confirmation
        elif name == pp.username_field:
            data[name] = user
        elif kind == "email" or "mail" in name.lower():
            data[name] = f"{user}@example.invalid"
        elif kind in ("text", "tel", "search"):
            data[name] = user
    data[pp.password_field] = password
    data.setdefault(pp.username_field, user)
    in_scope(form.action, f"the password form at {pp.url} posts to it: its action")
    method = "GET" if form.method == "get" else "POST"
    key = "params" if method == "GET" else "data"
    return fetch(s, method, form.action, timeout, verify, **{key: data})


def _accepted(pp: PasswordPolicyEndpoint, page: Page) -> bool:
    if pp.success_status:
        ok = page.status in pp.success_status
    else:
        ok = page.status < 400
    if pp.failure_text:
        ok = ok and pp.failure_text not in page.text
    return ok
