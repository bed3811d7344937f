"""The masking boundary: every declared secret, in every spelling a server may echo it in, is
replaced by a mask wherever text leaves the process.

Masking in each caller missed paths (an anonymous check's redirect, a clipped detail), so the
writers mask instead: the Allure result and attachment files, the terminal, stdout and stderr,
the summary and known-findings files. Secrets are registered when they are read (`register`),
and the plugin registers every declared one before the first test, so nothing written earlier
than the probe that reads it escapes either.

A server may echo a secret changed character by character: percent-encoded (either case of the
hex digits, doubled, `+` for a space), as HTML entities (named, decimal, hex), as JSON `\\u`
escapes, or as UTF-8 bytes read as Latin-1. One pattern per secret lets each character be
matched in any of those spellings, so mixed encodings are masked too; the pattern is a chain of
fixed alternatives, so its work is linear in the text. Spellings of the whole secret (base64 of
it and of `user:secret`, hex of its bytes) are matched as they are. Text is cut only after it
is masked (`clip`): a cut could leave part of a secret that no longer matches.
"""

from __future__ import annotations

import base64
import html.entities
import re
import sys
import threading
from collections.abc import Iterable
from typing import Any

MASK = "******"

_NAMED = {cp: name for cp, name in html.entities.codepoint2name.items()}
_NAMED[ord("'")] = "apos"
_JSON_SHORT = {'"': r"\"", "\\": r"\\", "/": r"\/", "\b": r"\b", "\f": r"\f", "\n": r"\n"}
_JSON_SHORT |= {"\r": r"\r", "\t": r"\t"}


def _hex(value: int, width: int = 2) -> str:
    """A hex number as a pattern that accepts either case of its letters."""
    return "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in f"{value:0{width}x}")


def _percent(data: bytes) -> str:
    """Percent-encoded bytes, each possibly encoded twice (`%2541` for `%41`)."""
    return "".join(f"%(?:25)?{_hex(b)}" for b in data)


def _char(ch: str) -> str:
    """Every spelling of one character of a secret, as one alternation."""
    cp = ord(ch)
    utf8 = ch.encode("utf-8", "surrogatepass")
    alts = {re.escape(ch), _percent(utf8), f"&#0*{cp};", f"&#[xX]0*{_hex(cp, 1)};"}
    if cp < 0x10000:
        alts.add(r"\\[uU]" + _hex(cp, 4))
    else:  # JSON writes an astral character as a surrogate pair
        hi, lo = divmod(cp - 0x10000, 0x400)
        alts.add(r"\\[uU]" + _hex(0xD800 + hi, 4) + r"\\[uU]" + _hex(0xDC00 + lo, 4))
    if cp < 0x100:
        alts.add(r"\\[xX]" + _hex(cp))  # a C or Python escape in a log line
    if cp in _NAMED:
        alts.add(f"&{_NAMED[cp]};")
    if ch in _JSON_SHORT:
        alts.add(re.escape(_JSON_SHORT[ch]))
    if ch == " ":
        alts |= {r"\+", "%(?:25)?2[bB]"}
    if 0x80 <= cp < 0x100:
        alts.add(_percent(bytes([cp])))  # a form posted as Latin-1
        alts.add(re.escape(chr(0xDC00 + cp)))  # a Latin-1 byte read as UTF-8, escaped
    if cp >= 0x80:
        for charset in ("latin-1", "cp1252"):  # UTF-8 bytes read as a single-byte charset
            try:
                alts.add(re.escape(utf8.decode(charset)))
            except UnicodeDecodeError:
                pass
    return "(?:" + "|".join(sorted(alts, key=len, reverse=True)) + ")"


def spellings(secret: str, username: str = "") -> list[str]:
    """Patterns for one secret: character by character, then its whole-value encodings."""
    out = ["".join(_char(ch) for ch in secret)]
    raw: set[bytes] = set()
    for charset in ("utf-8", "latin-1"):  # requests sends Basic credentials as latin-1
        try:
            raw.add(secret.encode(charset))
            if username:
                raw.add(f"{username}:{secret}".encode(charset))
        except UnicodeEncodeError:
            continue
    for data in sorted(raw):
        for b64 in (base64.b64encode(data), base64.urlsafe_b64encode(data)):
            out.append(re.escape(b64.decode().rstrip("=")) + "=*")
        out.append("".join(_hex(b) for b in data))  # hex of the bytes, either case
    return out


class Redactor:
    """Holds the secrets; thread-safe, since probes register while writers mask."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: set[tuple[str, str]] = set()
        self._pattern: re.Pattern[str] | None = None

    def register(self, secret: str, username: str = "") -> None:
        self.register_all([(username, secret)])

    def register_all(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Add (username, secret) pairs; the pattern is built once for all of them."""
        with self._lock:
            new = {(secret, user) for user, secret in pairs if secret} - self._secrets
            if not new:
                return
            self._secrets |= new
            # longest secret first, so a secret that begins another never half-masks it
            ordered = sorted(self._secrets, key=lambda s: len(s[0]), reverse=True)
            parts = [p for s, u in ordered for p in spellings(s, u)]
            self._pattern = re.compile("|".join(parts))

    def __call__(self, text: str) -> str:
        pattern = self._pattern
        return text if pattern is None else pattern.sub(MASK, text)

    def data(self, data: bytes) -> bytes:
        """Bytes through the same mask; bytes that are not UTF-8 pass through unchanged."""
        if self._pattern is None:
            return data
        text = data.decode("utf-8", "surrogateescape")
        masked = self(text)
        return data if masked == text else masked.encode("utf-8", "surrogateescape")

    def clear(self) -> None:
        with self._lock:
            self._secrets.clear()
            self._pattern = None


REDACTOR = Redactor()  # one per process: the secrets of the run being made
register = REDACTOR.register
redact = REDACTOR


def clip(text: str, limit: int) -> str:
    """Masked, then cut to `limit` characters: never cut first."""
    text = REDACTOR(text)
    return text if len(text) <= limit else text[:limit] + "..."


class RedactingStream:
    """A text stream that masks what is written through it (the terminal, stdout, stderr)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def write(self, text: str) -> int:
        self.inner.write(REDACTOR(text))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno, encoding, ...
        return getattr(self.inner, name)


def guard_streams() -> None:
    """Route sys.stdout and sys.stderr through the mask (once; a no-op when already done)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, RedactingStream):
            setattr(sys, name, RedactingStream(stream))
