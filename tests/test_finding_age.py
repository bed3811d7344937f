"""Findings keep one identity across runs and grow older by the day, with a frozen clock: an
expiring certificate's message changes every day (its day count), its identity must not."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from checking import decide as run_check

from harness import known
from harness.checks import get_check
from harness.inventory import Settings, Target, TlsEndpoint
from harness.probes import Job
from harness.probes.tls.model import CertDeployment, Certificate, TlsScan
from harness.session.summary import Record, RunSummary
from harness.session.verdicts import decide

DAY1 = dt.datetime(2026, 11, 29, 2, 17, tzinfo=dt.UTC)
CHECK = get_check("tls.cert.expiry")
JOB = Job(
    "web-01:443",
    Target(name="web-01", host="127.0.0.1", tls=[TlsEndpoint(port=443)]),
    TlsEndpoint(port=443),
    Settings(),
)


def _scan(at: dt.datetime, fingerprint: str = "ab" * 32) -> TlsScan:
    leaf = Certificate(
        subject="CN=web-01.test",
        issuer="CN=test CA",
        self_signed=False,
        not_before=DAY1 - dt.timedelta(days=80),
        not_after=DAY1 + dt.timedelta(days=10),
        key_type="EC",
        key_bits=256,
        curve="secp256r1",
        signature_algorithm="ecdsa-with-SHA256",
        signature_hash="sha256",
        dns_names=("web-01.test",),
        common_name="web-01.test",
        fingerprint=fingerprint,
    )
    return TlsScan(
        host="127.0.0.1",
        port=443,
        server_name="web-01.test",
        starttls=None,
        https=True,
        scanned_at=at,
        protocols=(),
        curves=(),
        certificates=(CertDeployment(chain=(leaf,), validation=(), chain_trusted=True),),
        heartbleed=False,
        ccs_injection=False,
        robot=None,
        secure_renegotiation=True,
        client_renegotiation=False,
        compression=False,
        fallback_scsv=True,
        extended_master_secret=True,
        hsts=None,
    )


def _night(path: Path, at: dt.datetime, fingerprint: str = "ab" * 32) -> tuple[str, RunSummary]:
    """One nightly run: judge, report, and update the known-findings file, on the date `at`."""
    today = at.date()
    previous = known.load(path)
    verdict = run_check("tls.cert.expiry", _scan(at, fingerprint))
    d = decide(CHECK, JOB, verdict, [], previous, today, track_age=True)
    assert d.outcome == "fail"
    summary = RunSummary(previous=previous)
    summary.add(
        Record(
            "n", "web-01", JOB.key, "tls", CHECK.id, "medium", "failed", "", d.new, d.finding_ids
        )
    )
    failing = {fid: (CHECK.id, JOB.key) for fid in d.finding_ids}
    known.save(path, known.update(previous, summary.judged(), failing, today))
    return d.text, summary


def test_an_expiring_certificate_keeps_one_identity_and_ages(tmp_path: Path) -> None:
    path = tmp_path / "known.json"
    first, _ = _night(path, DAY1)
    second, summary = _night(path, DAY1 + dt.timedelta(days=1))
    # the prose moved on by a day, which used to make the finding "new" every night
    assert "in 10 days" in first and "in 9 days" in second
    assert "[new since" not in second
    assert "first seen 2026-11-29 (0 days open)" in first
    assert "first seen 2026-11-29 (1 day open)" in second
    rows = known.load(path)
    assert rows is not None and len(rows) == 1
    [(fid, row)] = rows.items()
    assert fid == f"tls.cert.expiry@web-01:443#sha256:{'ab' * 32}"
    assert row.first_seen == DAY1.date()
    assert summary.fixed() == []
    third, _ = _night(path, DAY1 + dt.timedelta(days=5))
    assert "first seen 2026-11-29 (5 days open)" in third


def test_a_new_certificate_is_a_new_finding_and_the_old_one_is_fixed(tmp_path: Path) -> None:
    path = tmp_path / "known.json"
    _night(path, DAY1)
    text, summary = _night(path, DAY1 + dt.timedelta(days=1), fingerprint="cd" * 32)
    assert text.startswith("[new since the previous run: ")
    assert "first seen 2026-11-30 (0 days open)" in text
    [(fid, _)] = summary.fixed()
    assert fid.endswith("ab" * 32)
    assert "fixed since the previous run: 1" in summary.render()


def test_first_format_file_reads_as_no_previous_run(tmp_path: Path) -> None:
    path = tmp_path / "known.json"
    path.write_text('{"findings": ["tls.cert.expiry@web-01:443: expires in 9 days"]}')
    assert known.load(path) is None
