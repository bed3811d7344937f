"""TLS_FALLBACK_SCSV, Heartbleed and CCS injection against real servers: a pass needs an answer.

- a real `openssl s_server` (OpenSSL 3, one connection at a time) sends inappropriate_fallback;
- a Python ssl server without TLS 1.1 refuses the downgraded version outright (pass, noted);
- a pool that lacks SCSV protection (TLS 1.1 hellos reach a backend whose best version is 1.1,
  see hello_router) completes the downgraded handshake: the finding;
- a front that swallows hellos carrying the SCSV, while plain ones complete: broken, never passed
  (sslyze itself calls this "supports fallback SCSV");
- a front that swallows the hellos of the Heartbleed and CCS tests (they send no SNI): both
  broken (sslyze itself calls this "not vulnerable"), while a server that answers passes them.
The TLS probe runs for real (sslyze, then the fallback handshakes); policy judges its result.
"""

from __future__ import annotations

import re
import ssl
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from checking import decide
from hello_router import (
    FALLBACK_SCSV,
    HelloRouter,
    cipher_suites,
    has_server_name,
    hello_version,
)
from probe_context import RecordingContext
from sslyze.server_connectivity import TlsVersionEnum
from tls_servers import HOST, https_server, make_pki, strong_context

from harness.errors import CouldNotMeasure
from harness.inventory import Settings, loads
from harness.outcome import Verdict
from harness.probes.tls import TlsProbe
from harness.probes.tls.fallback import Answer, Fallback, measure
from harness.probes.tls.model import TlsScan
from harness.session.subjects import subjects

TLS_1_1 = 0x0302
# the no-SNI tarpit listens on an address of its own: its timeouts pace its own host
# (probes.hostgate), so the other endpoints are measured meanwhile instead of one at a time
# behind it (71 s for the fixture before, as long as the tarpit alone now)
NO_SNI_HOST = "127.0.0.71"


def _legacy(cert: Path, top: ssl.TLSVersion) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.set_ciphers("ECDHE+AES:@SECLEVEL=0")
    with warnings.catch_warnings():  # old versions on purpose
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = top
    ctx.load_cert_chain(cert, cert.with_suffix(".key"))
    return ctx


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    d = tmp_path_factory.mktemp("fallback")
    pki = make_pki(d)
    cert = pki.leaf("fallback", ["fallback.test"])
    s_server = subprocess.Popen(
        [
            *("openssl", "s_server", "-accept", f"{HOST}:0", "-www"),
            *("-cert", str(cert), "-key", str(cert.with_suffix(".key"))),
            *("-min_protocol", "TLSv1", "-cipher", "ECDHE+AES:@SECLEVEL=0"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert s_server.stdout is not None
    accept = ""
    while not accept.startswith("ACCEPT"):
        accept = s_server.stdout.readline()
        assert accept, "openssl s_server did not start"
    s_port = int(re.findall(r":(\d+)$", accept.strip())[0])
    upto11, server11 = https_server(_legacy(cert, ssl.TLSVersion.TLSv1_1))
    upto12, server12 = https_server(_legacy(cert, ssl.TLSVersion.TLSv1_2))
    refuses, strong = https_server(strong_context(cert))  # TLS 1.2 and 1.3 only
    lacks = HelloRouter(HOST, lambda h: upto11 if hello_version(h) == TLS_1_1 else upto12)
    swallow = HelloRouter(HOST, lambda h: None if FALLBACK_SCSV in cipher_suites(h) else upto12)
    no_sni = HelloRouter(HOST, lambda h: upto12 if has_server_name(h) else None, NO_SNI_HOST)
    ports = {
        "s-server": s_port,
        "swallows-no-sni": no_sni.port,
        "refuses": refuses,
        "lacks-scsv": lacks.port,
        "swallows-scsv": swallow.port,
    }
    # the no-SNI tarpit costs a timeout per swallowed hello (sslyze's certificate scan sends one
    # too); its checks need no cipher scan, so a short timeout cannot break them
    quick = {"swallows-no-sni": ", timeout: 2"}
    hosts = {"swallows-no-sni": NO_SNI_HOST}
    targets = "\n".join(
        f"  - {{name: {name}, host: {hosts.get(name, HOST)}{quick.get(name, '')}, "
        f"tls: [{{port: {port}, server_name: fallback.test}}]}}"
        for name, port in ports.items()
    )
    inv = loads(
        f"version: 1\ndefaults: {{timeout: 5, ca_bundle: {pki.bundle}}}\ntargets:\n{targets}\n"
    )
    ctx = RecordingContext(inv)
    TlsProbe().run(subjects(inv, "tls"), ctx)
    results: dict[str, object] = {
        name: ctx.results[next(k for k in ctx.results if k.startswith(name + ":"))]
        for name in ports
    }
    results["swallowed"] = swallow.swallowed
    yield results
    s_server.terminate()
    s_server.wait()
    for router in (lacks, swallow, no_sni):
        router.close()
    for server in (server11, server12, strong):
        server.shutdown()


def _verdict(run: dict[str, object], name: str) -> Verdict:
    scan = run[name]
    assert isinstance(scan, TlsScan), scan
    return decide("tls.vuln.fallback_scsv", scan)


def test_openssl_s_server_sends_the_alert(run: dict[str, object]) -> None:
    verdict = _verdict(run, "s-server")
    assert verdict.ok
    assert "TLS 1.1 handshake with TLS_FALLBACK_SCSV got the inappropriate_fallback alert" in (
        " ".join(verdict.notes)
    )


def test_a_refused_downgrade_version_passes_with_a_note(run: dict[str, object]) -> None:
    verdict = _verdict(run, "refuses")
    assert verdict.ok
    assert "TLS 1.1 is refused outright" in " ".join(verdict.notes)


def test_a_pool_without_scsv_protection_fails(run: dict[str, object]) -> None:
    verdict = _verdict(run, "lacks-scsv")
    assert not verdict.ok
    assert "does not reject TLS_FALLBACK_SCSV downgrades" in verdict.findings[0].text
    assert "with TLS_FALLBACK_SCSV completed" in " ".join(verdict.notes)


def test_a_swallowed_scsv_handshake_is_broken_never_passed(run: dict[str, object]) -> None:
    with pytest.raises(CouldNotMeasure) as raised:
        _verdict(run, "swallows-scsv")
    assert "gave no answer, twice" in str(raised.value)
    # the first ended the parallel pass (tls.pace); asked alone, the SCSV handshake and its one
    # retry; plain ones completed
    assert run["swallowed"] == 3
    scan = run["swallows-scsv"]
    assert isinstance(scan, TlsScan)
    for check in ("tls.profile", "tls.grade"):
        with pytest.raises(CouldNotMeasure):
            decide(check, scan)


def test_heartbleed_and_ccs_need_an_answer(run: dict[str, object]) -> None:
    silent = run["swallows-no-sni"]
    assert isinstance(silent, TlsScan)
    with pytest.raises(CouldNotMeasure) as raised:
        decide("tls.vuln.heartbleed", silent, Settings())
    assert "sent nothing back" in str(raised.value)  # sslyze: "not vulnerable"
    with pytest.raises(CouldNotMeasure) as raised:  # sslyze's CCS read lets a timeout raise
        decide("tls.vuln.ccs_injection", silent, Settings())
    assert "timed out" in str(raised.value)
    # asked one at a time after the first timeout, it stayed silent to those hellos: the silence
    # is its answer, not a queue, so the rest of its scan went parallel again (tls.pace)
    assert silent.pacing is not None and "stayed silent to 3 handshakes" in silent.pacing
    answered = run["lacks-scsv"]  # TLS 1.0-1.2 backends that answer every hello
    assert isinstance(answered, TlsScan)
    assert answered.heartbleed is False and answered.ccs_injection is False
    assert decide("tls.vuln.heartbleed", answered, Settings()).ok


# ---------------------------------------------------------------- the decision table, by hand


def _script(*answers: Answer) -> tuple[list[tuple[TlsVersionEnum, bool]], object]:
    calls: list[tuple[TlsVersionEnum, bool]] = []
    queue = list(answers)

    def shake(version: TlsVersionEnum, scsv: bool) -> tuple[Answer, str]:
        calls.append((version, scsv))
        return queue.pop(0), "detail"

    return calls, shake


@pytest.mark.parametrize(
    ("offered", "answers", "expected"),
    [
        (["TLS 1.1", "TLS 1.2"], [Answer.FALLBACK_ALERT], True),
        (["TLS 1.1", "TLS 1.2"], [Answer.COMPLETED], False),
        (["TLS 1.2", "TLS 1.3"], [Answer.REFUSED, Answer.REFUSED], True),  # 1.1 refused outright
        (["TLS 1.1", "TLS 1.2"], [Answer.REFUSED, Answer.REFUSED], None),  # scan said accepted
        (["TLS 1.1", "TLS 1.2"], [Answer.REFUSED, Answer.COMPLETED], True),  # F5 style
        (["TLS 1.1", "TLS 1.2"], [Answer.SILENT, Answer.SILENT], None),
        (["TLS 1.1", "TLS 1.2"], [Answer.SILENT, Answer.COMPLETED, Answer.FALLBACK_ALERT], True),
        (["TLS 1.1", "TLS 1.2"], [Answer.SILENT, Answer.COMPLETED, Answer.COMPLETED], False),
        (["TLS 1.1", "TLS 1.2"], [Answer.SILENT, Answer.COMPLETED, Answer.SILENT], None),
    ],
)
def test_silence_is_never_support(
    offered: list[str], answers: list[Answer], expected: bool | None
) -> None:
    calls, shake = _script(*answers)
    result = measure(shake, offered)  # type: ignore[arg-type]
    assert isinstance(result, Fallback)
    assert result.supported is expected, result
    assert (result.error is not None) is (expected is None)
    assert all(v == TlsVersionEnum.TLS_1_1 for v, _ in calls)


def test_the_downgrade_lands_on_the_highest_offered_version_below_the_best() -> None:
    calls, shake = _script(Answer.FALLBACK_ALERT)
    measure(shake, ["TLS 1.0", "TLS 1.2"])  # type: ignore[arg-type]
    assert calls == [(TlsVersionEnum.TLS_1_0, True)]  # not 1.1, which would be refused
