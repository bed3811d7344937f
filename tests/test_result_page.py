"""The result page's text, for every status, from the catalogue (pure functions, no run)."""

from __future__ import annotations

from harness.checks import get_check
from harness.output.result_page import (
    Judged,
    describe,
    findings_csv,
    plain_message,
    reference_name,
    shorten,
)

SUITES = ", ".join(f"TLS_SUITE_{i} (CBC mode, static RSA)" for i in range(40))


def test_messages_lose_python_class_names() -> None:
    assert plain_message("harness.errors.CouldNotMeasure: could not measure x") == (
        "could not measure x"
    )
    assert plain_message("Failed: Weak ciphers on x: a. Fix: b") == "Weak ciphers on x: a. Fix: b"
    assert plain_message("Skipped: waived until 2027-01-01") == "waived until 2027-01-01"
    assert plain_message("port 22: open") == "port 22: open"  # a sentence keeps its colon


def test_a_long_list_is_cut_in_the_message_and_whole_in_the_table() -> None:
    text = f"TLS 1.2: {SUITES}"
    short = shorten(text)
    assert short.startswith("TLS 1.2: 40 items: TLS_SUITE_0 (CBC mode, static RSA), ")
    assert short.endswith("and 35 more") and "TLS_SUITE_5 " not in short
    assert shorten("port 22/tcp is open: ssh") == "port 22/tcp is open: ssh"
    table = findings_csv((text, "a short one"))
    assert table is not None
    assert table.splitlines()[0] == "finding,item,detail"
    assert '"TLS 1.2","TLS_SUITE_39","CBC mode, static RSA"' in table
    assert len(table.splitlines()) == 41
    assert findings_csv(("a short one",)) is None


def test_references_have_readable_names() -> None:
    assert reference_name("https://cwe.mitre.org/data/definitions/327.html") == "CWE-327"
    assert reference_name("https://datatracker.ietf.org/doc/html/rfc8996") == "RFC 8996"
    assert reference_name("https://nvd.nist.gov/vuln/detail/CVE-2014-0160") == "CVE-2014-0160"
    assert reference_name("https://ssl-config.mozilla.org/") == "ssl-config.mozilla.org"


def test_every_status_says_what_to_do() -> None:
    check = get_check("tls.ciphers")
    where = "web (127.0.0.1:443)"
    against = "judged against Mozilla intermediate 5.7"
    broken = describe(check, where, "broken", against, None, "could not measure web (timeout): x")
    assert broken.startswith("**Could not measure: Weak cipher suites offered**")
    assert "First make it measurable" in broken and "could not measure web (timeout): x" in broken
    failed = describe(check, where, "failed", against, Judged(findings=(f"TLS 1.2: {SUITES}",)))
    assert "TLS\\_SUITE\\_4 " in failed and "TLS\\_SUITE\\_5 " not in failed
    assert "and 35 more: every one in the attachment *all listed items*" in failed
    assert "[CWE-327](https://cwe.mitre.org/data/definitions/327.html)" in failed
    waived = describe(
        check,
        where,
        "skipped",
        against,
        Judged(waiver="waived until 2027-01-01 by ops: appliance", hidden="Weak ciphers: a"),
    )
    assert waived.startswith("**Waived:") and "The finding it hides:\n\n> Weak ciphers: a" in waived
    passed = describe(check, where, "passed", against, Judged(notes=("no weak suite offered",)))
    assert "- no weak suite offered" in passed and "Nothing to fix here" in passed
    for page in (broken, failed, waived, passed):
        assert "### Who is affected\nEvery client that connects to web" in page
        assert "### Against what\nJudged against Mozilla intermediate 5.7." in page
