"""The TLS suite end to end: real servers, one sslyze pass, every check seen passing and failing.

The servers start once for the module and the suite runs once against all of them, in a pytest
subprocess (what pytester's runpytest_subprocess does; pytester itself is function-scoped). Each
test below then reads one (endpoint, check) result from the Allure results of that run.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from allure_results import assert_status, by_target_and_check, fixture_attachments
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from tls_servers import (
    HOST,
    closed_port,
    https_server,
    legacy_context,
    make_pki,
    silent_port,
    smtp_starttls_server,
    strong_context,
)

from harness.areas import define_checks
from harness.checks import catalogue

SUITE = Path(__file__).parents[1] / "suites" / "test_tls.py"
# every TLS check, read from the registry: a new check is run on every endpoint below, and must
# pass wherever EXPECTED does not say otherwise
define_checks("tls")
CHECKS = [c.id for c in catalogue().values() if c.area == "tls"]
_PROFILE_AND_GRADE = {"tls.profile": "failed", "tls.grade": "failed"}
# Python's ssl runs on Debian's OpenSSL 3.0, which has no ML-KEM: every TLS 1.3 server here
# fails the informational post-quantum check (tests/test_tls_pq.py has one that passes)
_NO_PQ = {"tls.post_quantum": "failed"}
# endpoint -> the checks that do not pass there; every other check must pass
EXPECTED: dict[str, dict[str, str]] = {
    "strong": _NO_PQ,
    "modern": {"tls.vuln.fallback_scsv": "skipped", "tls.vuln.renegotiation": "skipped", **_NO_PQ},
    "strong-as-modern": {"tls.protocols": "failed", "tls.profile": "failed", **_NO_PQ},
    "legacy": {
        "tls.protocols": "failed",
        "tls.ciphers": "failed",
        "tls.forward_secrecy": "failed",
        "tls.key_exchange": "failed",
        "tls.cert.trust": "failed",  # an RSA-1024 SHA-1 leaf no client accepts
        "tls.cert.strict": "skipped",  # not trusted at all: reported once, by tls.cert.trust
        "tls.cert.key": "failed",
        "tls.cert.signature": "failed",
        "tls.hsts": "failed",
        "tls.vuln.logjam": "failed",  # its 1024-bit DH group
        "tls.vuln.beast": "failed",  # CBC over TLS 1.0
        "tls.vuln.lucky13": "failed",  # CBC at all
        "tls.post_quantum": "skipped",  # no TLS 1.3
        "tls.tls13": "failed",  # TLS 1.0 to 1.2 only
        **_PROFILE_AND_GRADE,
    },
    # expired is validity's finding; "expires soon" beside it would contradict it
    "expired": {
        "tls.cert.validity": "failed",
        "tls.cert.expiry": "skipped",
        **_PROFILE_AND_GRADE,
        **_NO_PQ,
    },
    "not-yet-valid": {"tls.cert.validity": "failed", **_PROFILE_AND_GRADE, **_NO_PQ},
    "self-signed": {
        "tls.cert.trust": "failed",
        "tls.cert.strict": "skipped",
        **_PROFILE_AND_GRADE,
        **_NO_PQ,
    },
    # internal PKI from an older CA: clients trust it, strict validators do not; no grade cap
    "no-aki": {"tls.cert.strict": "failed", **_NO_PQ},
    "unknown-ca": {
        "tls.cert.trust": "failed",
        "tls.cert.strict": "skipped",
        **_PROFILE_AND_GRADE,
        **_NO_PQ,
    },
    "wrong-host": {"tls.cert.hostname": "failed", **_PROFILE_AND_GRADE, **_NO_PQ},
    "expiring": {"tls.cert.expiry": "failed", "tls.hsts": "failed", **_NO_PQ},
    "smtp": {"tls.hsts": "skipped", "tls.post_quantum": "skipped"},  # not asked over STARTTLS
    "closed": dict.fromkeys(CHECKS, "broken"),
    "silent": dict.fromkeys(CHECKS, "broken"),
}

SNI = {
    "strong-as-modern": "strong.test",
    "modern": "strong.test",
    "not-yet-valid": "notyet.test",
    "self-signed": "self.test",
    "no-aki": "noaki.test",
    "unknown-ca": "unknown.test",
    "wrong-host": "www.wrong.test",  # the certificate is for other.test
    "smtp": "mail.test",
}
ENDPOINT_KEYS = {
    "modern": ", profile: modern",
    "strong-as-modern": ", profile: modern",
    "smtp": ", starttls: smtp",
    "silent": ", timeout: 2",
}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[tuple[str, str], Any]]:
    """Start every server, scan them all in one run, return Allure results by (target, check)."""
    d = tmp_path_factory.mktemp("tls")
    pki = make_pki(d)
    (d / "stranger").mkdir()
    stranger = make_pki(d / "stranger")  # a CA the targets file does not declare
    strong = pki.leaf("strong", ["strong.test"])
    servers = {
        "strong": https_server(strong_context(strong)),
        "modern": https_server(strong_context(strong, tls13_only=True)),
        "legacy": https_server(
            legacy_context(
                pki.leaf(
                    "legacy",
                    ["legacy.test"],
                    key=rsa.generate_private_key(public_exponent=65537, key_size=1024),
                    issuer="rsa",
                    digest=hashes.SHA1(),
                ),
                d,
            ),
            hsts=None,
        ),
        "expired": https_server(
            strong_context(pki.leaf("expired", ["expired.test"], days=(-90, -2)))
        ),
        "not-yet-valid": https_server(
            strong_context(pki.leaf("notyet", ["notyet.test"], days=(2, 80)))
        ),
        "self-signed": https_server(strong_context(pki.leaf("self", ["self.test"], issuer="self"))),
        "wrong-host": https_server(strong_context(pki.leaf("wrong", ["other.test"]))),
        "no-aki": https_server(strong_context(pki.leaf("noaki", ["noaki.test"], aki=False))),
        "unknown-ca": https_server(strong_context(stranger.leaf("unknown", ["unknown.test"]))),
        "expiring": https_server(
            strong_context(pki.leaf("expiring", ["expiring.test"], days=(-70, 10))),
            hsts="max-age=86400",
        ),
        "smtp": smtp_starttls_server(strong_context(pki.leaf("smtp", ["mail.test"]))),
    }
    ports = {name: port for name, (port, _) in servers.items()}
    with silent_port() as silent:
        ports |= {"strong-as-modern": ports["strong"], "closed": closed_port(), "silent": silent}
        lines = [
            "version: 1",
            "defaults:",
            f"  ca_bundle: {pki.bundle}",
            "  timeout: 5",  # a busy machine must not turn a slow handshake into a broken check
            "targets:",
        ]
        for name, port in ports.items():
            lines += [
                f"  - name: {name}",
                f"    host: {HOST}",
                f"    tls: [{{port: {port}, server_name: {SNI.get(name, name + '.test')}"
                f"{ENDPOINT_KEYS.get(name, '')}}}]",
            ]
        (d / "targets.yaml").write_text("\n".join(lines) + "\n")
        shutil.copy(SUITE, d / "test_tls.py")
        proc = subprocess.run(
            [
                *(sys.executable, "-m", "pytest", "test_tls.py", "--targets", "targets.yaml"),
                *("-p", "no:cacheprovider", "--alluredir", "allure", "-q", "-rN"),
            ],
            cwd=d,
            capture_output=True,
            text=True,
            timeout=300,
        )
    for _, server in servers.values():
        server.shutdown()
    results = by_target_and_check(d / "allure")
    results[("", "stdout")] = proc.stdout
    results[("", "attachments")] = fixture_attachments(d / "allure")
    results[("", "dir")] = d / "allure"
    yield results


def _case_ids() -> list[tuple[str, str, str]]:
    return [
        (target, check, EXPECTED[target].get(check, "passed"))
        for target in EXPECTED
        for check in CHECKS
    ]


@pytest.mark.parametrize(("target", "check", "status"), _case_ids())
def test_every_check_on_every_endpoint(
    run: dict[tuple[str, str], Any], target: str, check: str, status: str
) -> None:
    assert_status(run, target, check, status)


def test_closed_and_silent_ports_are_broken_with_the_reason(
    run: dict[tuple[str, str], Any],
) -> None:
    closed = run[("closed", "tls.protocols")]["statusDetails"]["message"]
    silent = run[("silent", "tls.protocols")]["statusDetails"]["message"]
    assert "(refused)" in closed and "connection refused" in closed
    assert "(timeout)" in silent and "no TLS handshake completed within 2 s" in silent


def test_grade_shows_on_the_dashboard(run: dict[tuple[str, str], Any]) -> None:
    strong = run[("strong", "tls.grade")]
    labels = {lb["name"]: lb["value"] for lb in strong["labels"]}
    assert labels["tls_grade"] == "A+"
    assert strong["name"].startswith("TLS grade A+")
    legacy = run[("legacy", "tls.grade")]
    assert {lb["name"]: lb["value"] for lb in legacy["labels"]}["tls_grade"] == "T"
    message = legacy["statusDetails"]["message"]
    assert "score" in message and "caps:" in message and "F (NULL suites offered)" in message
    assert {lb["name"]: lb["value"] for lb in run[("wrong-host", "tls.grade")]["labels"]}[
        "tls_grade"
    ] == "M"
    smtp = run[("smtp", "tls.grade")]
    assert {lb["name"]: lb["value"] for lb in smtp["labels"]}["tls_grade"] == "A"  # no HSTS


def test_ciphers_are_named_under_their_protocol(run: dict[tuple[str, str], Any]) -> None:
    ciphers = run[("legacy", "tls.ciphers")]
    message = ciphers["statusDetails"]["message"]
    assert "TLS 1.0: " in message and "TLS 1.2: " in message
    # the message names the first suites and counts the rest; the table lists every one
    assert re.search(r"TLS 1\.2: \d+ items: TLS_\w+ \(", message) and " more" in message
    (table,) = [
        a["source"]
        for s in ciphers["steps"]
        for a in s.get("attachments", [])
        if a["name"] == "all listed items"
    ]
    rows = (run[("", "dir")] / table).read_text()
    assert '"TLS 1.2","TLS_RSA_WITH_NULL_SHA256","NULL encryption' in rows
    assert "anonymous, no authentication" in rows
    kex = run[("legacy", "tls.key_exchange")]["statusDetails"]["message"]
    assert "DH group of 1024 bits" in kex and "groups outside the intermediate profile: X448" in kex


def test_expiry_says_how_many_days_are_left(run: dict[tuple[str, str], Any]) -> None:
    message = run[("expiring", "tls.cert.expiry")]["statusDetails"]["message"]
    assert "in 9 days" in message or "in 10 days" in message
    hsts = run[("expiring", "tls.hsts")]["statusDetails"]["message"]
    assert "max-age is 86400 s (1 days), under the minimum of 180 days" in hsts


def test_one_scan_json_per_endpoint(run: dict[tuple[str, str], Any]) -> None:
    names = run[("", "attachments")]
    for target in ("strong", "legacy", "smtp"):
        assert len([n for n in names if n.startswith(f"sslyze scan of {target}:")]) == 1, names
    assert not [
        n for n in names if n.startswith(("sslyze scan of closed:", "sslyze scan of silent:"))
    ]
    assert "sslyze: scanning 14 TLS endpoint(s)" in run[("", "stdout")]
    # each endpoint is pre-checked inside its host's budget; the closed and silent ones stop there
    assert "sslyze: 12 endpoint(s) scanned, 2 could not be scanned" in run[("", "stdout")]


def test_strict_defects_are_named_apart_from_trust(run: dict[tuple[str, str], Any]) -> None:
    """A leaf without AKI from a ca_bundle CA: clients trust it, strict validators do not."""
    trust = run[("no-aki", "tls.cert.trust")]
    # a passing check says what it checked there: in the description (or an attachment of the
    # judgement step, as older runs had it)
    attached = trust.get("attachments", []) + [
        a for s in trust.get("steps", []) for a in s.get("attachments", [])
    ]
    checked = [a["source"] for a in attached if a["name"] == "what was checked"]
    note = " ".join(
        [trust.get("description", ""), *((run[("", "dir")] / c).read_text() for c in checked)]
    )
    assert "trusted by OpenSSL default verification" in note
    strict = run[("no-aki", "tls.cert.strict")]["statusDetails"]["message"]
    assert "the leaf has no Authority Key Identifier" in strict
    assert "pyca/cryptography" in strict and "Python 3.13" in strict and "curl" in strict
    assert "missing required extension" in strict  # pyca's own words, as sslyze reported them
    labels = {lb["name"]: lb["value"] for lb in run[("no-aki", "tls.grade")]["labels"]}
    assert labels["tls_grade"] == "A+"  # a strict-only defect does not cap the grade at T
    unknown = run[("unknown-ca", "tls.cert.trust")]["statusDetails"]["message"]
    assert "unable to get local issuer certificate" in unknown
    skipped = run[("unknown-ca", "tls.cert.strict")]["statusDetails"]["message"]
    assert "tls.cert.trust reports it" in skipped


def test_logjam_names_the_widely_shared_prime_the_server_uses(
    run: dict[tuple[str, str], Any],
) -> None:
    """The legacy server's 1024-bit group is RFC 2409's Oakley Group 2: read from the handshake
    and found in harness/data/common_dh_primes.yaml."""
    message = run[("legacy", "tls.vuln.logjam")]["statusDetails"]["message"]
    assert "widely shared 1024-bit one (RFC2409/Oakley Group 2)" in message, message
