"""Login forms read from a page in linear time, whatever the page holds.

Python's html.parser is quadratic on unclosed tags (`"<a" * 131072` takes 17 s of CPU), and a
pattern such as `<input[^>]+type` is quadratic on repeated `<input ` (31 s on 256 KB): a page on
a scanned host could stall the run holding the interpreter lock. Here every scan moves forward
only: comments and raw-text elements are skipped with str.find, a tag runs to the next `<` or
`>` (`[^<>]*` cannot overlap the next tag), and attributes are read from that bounded text by
one pass of a pattern whose repetitions never nest.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)([^<>]*)>?")
_ATTR = re.compile(r"""([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
_RAW_TEXT = ("script", "style", "textarea", "title")  # their content is text, never tags


@dataclass
class Form:
    action: str
    method: str
    inputs: list[tuple[str, str, str]] = field(default_factory=list)  # name, type, value


@dataclass
class Page:
    forms: list[Form] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    password_input: bool = False  # an <input type=password> anywhere, in a form or not


def attributes(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in _ATTR.finditer(text):
        name = m.group(1).lower()
        value = next((g for g in m.group(2, 3, 4) if g is not None), "")
        out.setdefault(name, html.unescape(value))  # the first of a repeated name wins
    return out


def read(page: str) -> Page:
    found = Page()
    open_form: Form | None = None
    lower = page.lower()  # once: a search per raw-text element would be quadratic
    pos, end = 0, len(page)
    while pos < end:
        lt = page.find("<", pos)
        if lt < 0:
            break
        if page.startswith("<!--", lt):
            close = page.find("-->", lt + 4)
            pos = end if close < 0 else close + 3
            continue
        m = _TAG.match(page, lt)
        if m is None:
            pos = lt + 1
            continue
        pos = m.end()
        closing, tag, rest = m.group(1), m.group(2).lower(), m.group(3)
        if closing:
            if tag == "form":
                open_form = None
            continue
        if tag in _RAW_TEXT:
            close = lower.find(f"</{tag}", pos)
            pos = end if close < 0 else close
            continue
        if tag not in ("form", "input", "meta"):
            continue
        a = attributes(rest)
        if tag == "form":
            open_form = Form(a.get("action", ""), (a.get("method") or "get").lower())
            found.forms.append(open_form)
        elif tag == "input":
            kind = (a.get("type") or "text").lower()
            found.password_input |= kind == "password"
            if open_form is not None and a.get("name"):
                open_form.inputs.append((a["name"], kind, a.get("value", "")))
        elif a.get("name"):
            found.meta[a["name"].lower()] = a.get("content", "")
    return found
