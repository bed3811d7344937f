"""Masking secrets in whatever a server said back, in every encoding a server may echo them in.

A server can repeat a password as sent (a body), URL-encoded (a redirect `Location`, a query in
a log line, with `%20` or `+` for a space), as the base64 of `user:password` (an echoed Basic
`Authorization` header) or HTML-escaped (a form re-rendered with the value). Each form is
replaced by the mask before anything is recorded; only then is a long text clipped, so a clip
can never leave part of a secret behind.
"""

from __future__ import annotations

import base64
import html
from urllib.parse import quote, quote_plus

MASK = "******"
MAX_TEXT = 300  # characters of a server's answer kept in a detail, after masking


def forms(username: str, password: str) -> set[str]:
    """Every spelling of one secret that a server may echo; the password itself included."""
    out = {password, html.escape(password), html.escape(password, quote=False)}
    for safe in ("", "/"):
        for encoded in (quote(password, safe=safe), quote_plus(password, safe=safe)):
            out |= {encoded, _lower_hex(encoded)}
    for charset in ("utf-8", "latin-1"):  # requests sends Basic credentials as latin-1
        for raw in (password, f"{username}:{password}"):
            try:
                data = raw.encode(charset)
            except UnicodeEncodeError:
                continue
            for b64 in (base64.b64encode(data), base64.urlsafe_b64encode(data)):
                text = b64.decode()
                out |= {text, text.rstrip("=")}
    return {f for f in out if f}


class Masker:
    """Replaces each form of the secrets it holds; longest first, so no form is half-replaced."""

    def __init__(self, secrets: list[tuple[str, str]]) -> None:
        every = set().union(*(forms(u, p) for u, p in secrets if p)) if secrets else set()
        self.forms = sorted(every, key=len, reverse=True)

    def __call__(self, text: str, limit: int = MAX_TEXT) -> str:
        for form in self.forms:
            text = text.replace(form, MASK)
        return text if len(text) <= limit else text[:limit] + "..."


def _lower_hex(encoded: str) -> str:
    """`%2F` as `%2f`: both spellings are valid percent-encoding."""
    parts = encoded.split("%")
    return parts[0] + "".join("%" + p[:2].lower() + p[2:] for p in parts[1:])
