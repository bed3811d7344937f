"""Masking a secret in each encoding a server may echo it in (pure; the end-to-end proof is
tests/test_secrets.py)."""

from __future__ import annotations

import base64
import html
from urllib.parse import quote, quote_plus

import pytest

from harness.probes.logins.mask import MASK, Masker

SECRET = "a &b%c+d/e f-é-9"


@pytest.mark.parametrize(
    "echo",
    [
        SECRET,
        quote(SECRET, safe=""),
        quote(SECRET, safe="").lower(),  # %2f as well as %2F
        quote(SECRET),
        quote_plus(SECRET, safe=""),
        base64.b64encode(f"ops:{SECRET}".encode()).decode(),
        base64.b64encode(f"ops:{SECRET}".encode("latin-1")).decode(),
        html.escape(SECRET),
        html.escape(SECRET, quote=False),
    ],
)
def test_each_encoding_is_masked(echo: str) -> None:
    scrub = Masker([("ops", SECRET)])
    assert scrub(f"Location: /login?error={echo}&x=1") == f"Location: /login?error={MASK}&x=1"


def test_a_long_text_is_clipped_only_after_masking() -> None:
    scrub = Masker([("ops", SECRET)])
    text = "x" * 290 + quote(SECRET, safe="") + "y" * 50
    out = scrub(text)
    assert out.startswith("x" * 290 + MASK) and len(out) <= 303
    assert "%26" not in out and "a%20" not in out


def test_no_secrets_masks_nothing() -> None:
    assert Masker([])("HTTP 401") == "HTTP 401"
