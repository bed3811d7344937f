"""The masking boundary on its own (pure): a declared secret in each spelling a server may echo it
in, mixed spellings, clipping only after masking, and bounded work on hostile text. The
end-to-end proof over every output file and stream is tests/test_secrets.py."""

from __future__ import annotations

import base64
import html
import json
import time
from urllib.parse import quote, quote_plus

import pytest

from harness.redact import MASK, Redactor, clip, register

SECRET = "a &b%c+d/e f-é-9\"'<"
USER = "ops"
RAW = SECRET.encode()


def _entities(text: str, form: str) -> str:
    return "".join(form.format(ord(c)) for c in text)


ECHOES = {
    "plain": SECRET,
    "url": quote(SECRET, safe=""),
    "url, lower-case hex": quote(SECRET, safe="").replace("%C3%A9", "%c3%a9").replace("%2F", "%2f"),
    "url, path-safe": quote(SECRET),
    "url, plus for space": quote_plus(SECRET, safe=""),
    "url, doubled": quote(quote(SECRET, safe=""), safe=""),
    "url, latin-1": quote(SECRET, safe="", encoding="latin-1"),
    "base64 of user:secret": base64.b64encode(f"{USER}:{SECRET}".encode()).decode(),
    "base64 of user:secret, latin-1": base64.b64encode(
        f"{USER}:{SECRET}".encode("latin-1")
    ).decode(),
    "base64 of the secret, unpadded": base64.b64encode(RAW).decode().rstrip("="),
    "base64url": base64.urlsafe_b64encode(RAW).decode(),
    "hex": RAW.hex(),
    "HEX": RAW.hex().upper(),
    "html named": html.escape(SECRET),
    "html decimal": _entities(SECRET, "&#{};"),
    "html hex": _entities(SECRET, "&#x{:x};"),
    "html HEX, zero-padded": _entities(SECRET, "&#X{:04X};"),
    "json": json.dumps(SECRET)[1:-1],
    "json \\u escapes": json.dumps(SECRET, ensure_ascii=True)[1:-1],
    "json, every character escaped": _entities(SECRET, "\\u{:04x}"),
    "utf-8 read as latin-1": RAW.decode("latin-1"),
    "utf-8 read as cp1252": RAW.decode("cp1252", errors="ignore"),
    "mixed: url and entities": quote(SECRET[:5], safe="") + html.escape(SECRET[5:]),
}


@pytest.fixture
def mask() -> Redactor:
    r = Redactor()
    r.register(SECRET, USER)
    return r


@pytest.mark.parametrize("name", list(ECHOES))
def test_each_spelling_is_masked(mask: Redactor, name: str) -> None:
    echo = ECHOES[name]
    assert mask(f"Location: /login?error={echo}&x=1") == f"Location: /login?error={MASK}&x=1"


@pytest.mark.parametrize("name", list(ECHOES))
def test_each_spelling_is_masked_in_bytes(mask: Redactor, name: str) -> None:
    data = f"<p>{ECHOES[name]}</p>".encode()
    assert mask.data(data) == f"<p>{MASK}</p>".encode()


def test_raw_latin1_bytes_are_masked(mask: Redactor) -> None:
    assert mask.data(b"[" + SECRET.encode("latin-1") + b"]") == f"[{MASK}]".encode()


def test_a_secret_that_starts_another_is_never_half_masked() -> None:
    r = Redactor()
    r.register("Winter2026")
    r.register("Winter2026!extra")
    assert r("x Winter2026!extra y Winter2026 z") == f"x {MASK} y {MASK} z"


def test_clip_masks_before_it_cuts() -> None:
    register(SECRET, USER)  # the process-wide redactor, as the probes use it
    text = "x" * 110 + quote(SECRET, safe="") + "y" * 50
    out = clip(text, 120)
    assert out.startswith("x" * 110 + MASK) and len(out) <= 123
    assert "%26" not in out and "a%20" not in out


def test_no_secret_masks_nothing() -> None:
    assert Redactor()("HTTP 401") == "HTTP 401"
    assert Redactor().data(b"\xff\x00") == b"\xff\x00"


def test_masking_is_linear_on_hostile_text(mask: Redactor) -> None:
    """A page built from the secret's own prefixes cannot make the mask slow."""
    hostile = (quote(SECRET[:-1], safe="") + "%") * 20_000 + "&#" * 100_000
    start = time.process_time()
    mask(hostile)
    assert time.process_time() - start < 2.0
