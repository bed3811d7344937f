"""Keeps the HTML report from calling anyone when it is opened.

Allure 3.18's awesome plugin hard-codes Google Analytics (`analyticsEnable: true` in its
generator, with no option to turn it off), so every report would tell a third party when and from
where it was read. The tag is cut out after generation, and any other reference to another host
that a new Allure version might bring makes `harness report` fail instead of shipping it.
"""

from __future__ import annotations

import re
from pathlib import Path

# the loader tag and the inline `gtag(...)` set-up that follows it
_REMOTE_SCRIPT = re.compile(r'<script\b[^>]*\bsrc="(?:https?:)?//[^"]*"[^>]*>\s*</script>\s*')
_GTAG_SETUP = re.compile(
    r"<script>(?:(?!</script>)[\s\S])*?\bgtag\((?:(?!</script>)[\s\S])*</script>\s*"
)
_INLINE_SCRIPT = re.compile(r"<script\b[^>]*>[\s\S]*?</script>")
_REMOTE_ATTR = re.compile(
    r'\b(?:src|href|action|srcset|data)\s*=\s*["\']?((?:https?:)?//[^"\'\s>]+)'
)


def strip_analytics(html: str) -> str:
    return _GTAG_SETUP.sub("", _REMOTE_SCRIPT.sub("", html))


def remote_references(html: str) -> list[str]:
    """URLs on other hosts that the page's markup would load (inline script bodies aside)."""
    markup = _INLINE_SCRIPT.sub(lambda m: m.group(0)[: m.group(0).find(">") + 1], html)
    return _REMOTE_ATTR.findall(markup)


def make_offline(report_dir: Path) -> list[str]:
    """Strip analytics from every HTML page under a generated report, in every subfolder;
    return what remains remote."""
    left: list[str] = []
    pages = [p for p in report_dir.rglob("*") if p.suffix.lower() in (".html", ".htm")]
    for page in sorted(pages):
        if not page.is_file():
            continue
        html = page.read_text(encoding="utf-8", errors="replace")
        clean = strip_analytics(html)
        if clean != html:
            page.write_text(clean, encoding="utf-8")
        where = page.relative_to(report_dir).as_posix()
        left.extend(f"{where}: {url}" for url in remote_references(clean))
    return left
