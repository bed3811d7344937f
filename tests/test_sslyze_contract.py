"""The contract with sslyze's and nassl's private names: each one harness/probes/tls/sslyze_adapter.py
uses still exists, with the shape it relies on.

Run after any sslyze or nassl upgrade: a failure names what changed and the adapter function to
adapt. Nothing here touches the network: the scanner is fed made-up jobs, the socket opener a
recorder, and the hijacked handshakes a socket pair.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.metadata
import importlib.util
import inspect
import socket
import tomllib
from pathlib import Path
from typing import Any

import pytest
from nassl import ephemeral_key_info
from nassl.ephemeral_key_info import OpenSslEcNidEnum
from nassl.legacy_ssl_client import LegacySslClient
from nassl.ssl_client import OpenSslVersionEnum, SslClient
from sslyze.connection_helpers import tls_connection
from sslyze.plugins.openssl_cipher_suites import _test_cipher_suite, _tls12_workaround
from sslyze.plugins.openssl_cipher_suites.cipher_suites import CipherSuitesRepository
from sslyze.plugins.scan_commands import ScanCommand
from sslyze.scanner import _jobs_worker_thread, _mass_scanner
from sslyze.scanner.models import ServerScanRequest, ServerScanResult
from sslyze.scanner.scan_command_attempt import ScanCommandAttemptStatusEnum
from sslyze.server_connectivity import (
    ClientAuthRequirementEnum,
    ServerConnectivityInfo,
    ServerTlsProbingResult,
    TlsVersionEnum,
)
from sslyze.server_setting import ServerNetworkConfiguration, ServerNetworkLocation

ROOT = Path(__file__).parents[1]
PYPROJECT = ROOT / "pyproject.toml"
ADAPTER = ROOT / "harness" / "probes" / "tls" / "sslyze_adapter.py"
INSTALLED = {p: importlib.metadata.version(p) for p in ("sslyze", "nassl")}


def adapt(what: str, where: str) -> str:
    """The failure message: what changed, and where to adapt."""
    versions = ", ".join(f"{p} {v}" for p, v in INSTALLED.items())
    return f"{versions} changed {what}: adapt harness/probes/tls/sslyze_adapter.py::{where}"


try:
    from harness.probes.tls import sslyze_adapter as adapter
except ImportError as exc:  # a private name the adapter imports is gone
    raise ImportError(adapt(f"a private name the adapter imports ({exc})", "imports")) from exc

# Every private name the adapter uses (as the walk below reads them), each checked by a test here.
# A name added to the adapter without a check here fails test_every_private_name_is_checked.
CHECKED = {
    "nassl._nassl": "test_openssl_error_is_what_both_nassl_clients_raise",
    "nassl._nassl.OpenSSLError": "test_openssl_error_is_what_both_nassl_clients_raise",
    "nassl.ephemeral_key_info._OPENSSL_NID_TO_SECG_ANSI_X9_62": (
        "test_every_group_nassl_can_offer_has_a_name"
    ),
    "client._sock": "test_the_client_socket_can_be_wrapped_where_its_handshake_reads",
    "sslyze.connection_helpers.tls_connection._open_socket_for_direct_connection": (
        "test_sslyze_opens_its_direct_connections_through_the_replaceable_opener"
    ),
    "sslyze.plugins.heartbleed_plugin._do_handshake_with_heartbleed": (
        "test_a_hijacked_handshake_reads_through_the_wrapped_socket"
    ),
    "sslyze.plugins.heartbleed_plugin._VulnerableToHeartbleed": (
        "test_a_hijacked_handshake_reads_through_the_wrapped_socket"
    ),
    "sslyze.plugins.heartbleed_plugin._NotVulnerableToHeartbleed": (
        "test_a_hijacked_handshake_reads_through_the_wrapped_socket"
    ),
    "sslyze.plugins.openssl_ccs_injection_plugin._do_handshake_with_ccs_injection": (
        "test_a_hijacked_handshake_reads_through_the_wrapped_socket"
    ),
    "sslyze.plugins.openssl_ccs_injection_plugin._VulnerableToCcsInjection": (
        "test_a_hijacked_handshake_reads_through_the_wrapped_socket"
    ),
    "sslyze.plugins.openssl_ccs_injection_plugin._NotVulnerableToCcsInjection": (
        "test_a_hijacked_handshake_reads_through_the_wrapped_socket"
    ),
    "sslyze.plugins.openssl_cipher_suites._test_cipher_suite._set_cipher_suite_string": (
        "test_the_suite_string_setter_offers_exactly_the_suites_given"
    ),
    "sslyze.plugins.openssl_cipher_suites._test_cipher_suite.CipherSuiteAcceptedByServer": (
        "test_the_cipher_suite_results_keep_their_fields"
    ),
    "sslyze.plugins.openssl_cipher_suites._test_cipher_suite.CipherSuiteRejectedByServer": (
        "test_the_cipher_suite_results_keep_their_fields"
    ),
    "sslyze.plugins.openssl_cipher_suites._tls12_workaround.WorkaroundForTls12ForCipherSuites": (
        "test_the_tls12_suites_still_split_between_the_two_openssls"
    ),
    "sslyze.scanner._jobs_worker_thread.CompletedScanJob": "test_the_scanner_helpers_keep_their_shape",
    "sslyze.scanner._mass_scanner._generate_result_for_completed_server_scan": (
        "test_the_scanner_helpers_keep_their_shape"
    ),
    "sslyze.scanner._mass_scanner._generate_scan_jobs_for_server_scan": (
        "test_the_scanner_helpers_keep_their_shape"
    ),
    "sslyze.scanner._mass_scanner._OngoingServerScan": "test_the_scanner_helpers_keep_their_shape",
}


def private_names(source: str) -> set[str]:
    """The private sslyze/nassl names a module uses: imports with a part that starts with `_`,
    names read from a private module, `_` attributes of an import or of any other local name."""
    tree = ast.parse(source)
    imported: dict[str, str] = {}
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in THIRD:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                imported[alias.asname or alias.name] = full
                if _private(full):
                    found.add(full)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            base = imported.get(node.value.id)
            if base is not None:
                # `_nassl.OpenSSLError`: a name read from a private module is private too
                in_private_module = _private(base) and _is_module(base)
                if node.attr.startswith("_") or in_private_module:
                    found.add(f"{base}.{node.attr}")
            elif node.attr.startswith("_") and node.value.id != "self":
                found.add(f"{node.value.id}.{node.attr}")
    return found


THIRD = ("sslyze", "nassl")


def _private(dotted: str) -> bool:
    return any(part.startswith("_") for part in dotted.split("."))


def _is_module(dotted: str) -> bool:
    try:
        return importlib.util.find_spec(dotted) is not None
    except ImportError:  # a name inside a module (its parent is no package)
        return False


def test_every_private_name_is_checked() -> None:
    used = private_names(ADAPTER.read_text())
    unchecked = sorted(used - CHECKED.keys())
    assert not unchecked, (
        f"harness/probes/tls/sslyze_adapter.py uses private names no contract test checks: "
        f"{unchecked}. Fix: add a test of the shape relied on to tests/test_sslyze_contract.py "
        "and list it in CHECKED"
    )
    stale = sorted(CHECKED.keys() - used)
    assert not stale, f"CHECKED lists names the adapter no longer uses: {stale}; remove them"
    tests = {name for name in globals() if name.startswith("test_")}
    assert set(CHECKED.values()) <= tests, sorted(set(CHECKED.values()) - tests)


@pytest.mark.parametrize("name", sorted(n for n in CHECKED if n.split(".")[0] in THIRD))
def test_every_private_name_still_exists(name: str) -> None:
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):  # the longest importable module, then attributes
        try:
            found: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            found = getattr(found, attr, None)
            assert found is not None, adapt(f"{name} (it is gone)", "imports")
        return
    pytest.fail(adapt(f"{name} (its module is gone)", "imports"))


def parameters(function: Any) -> list[str]:
    return list(inspect.signature(function).parameters)


def fields(cls: Any) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def private(module: Any, name: str, where: str) -> Any:
    found = getattr(module, name, None)
    assert found is not None, adapt(f"{module.__name__}.{name} (it is gone)", where)
    return found


# --- versions: an upgrade reruns this contract on purpose ---


@pytest.mark.parametrize("package", sorted(adapter.CHECKED_AGAINST))
def test_the_pinned_and_installed_versions_are_the_ones_the_adapter_was_checked_against(
    package: str,
) -> None:
    deps = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    pins = dict(d.split("#")[0].strip().split("==", 1) for d in deps if "==" in d)
    checked = adapter.CHECKED_AGAINST[package]
    assert pins.get(package) == checked, (
        f"pyproject.toml pins {package} {pins.get(package)}, the adapter was checked against "
        f"{checked}: run tests/test_sslyze_contract.py against the new release, adapt "
        f"harness/probes/tls/sslyze_adapter.py where it fails, then set CHECKED_AGAINST there"
    )
    assert INSTALLED[package] == checked, (
        f"{package} {INSTALLED[package]} is installed, the adapter was checked against {checked}: "
        "run make setup (pyproject.toml pins it)"
    )


# --- nassl ---


def test_openssl_error_is_what_both_nassl_clients_raise() -> None:
    assert isinstance(adapter.OpenSSLError, type) and issubclass(adapter.OpenSSLError, Exception), (
        adapt("nassl._nassl.OpenSSLError (no longer an exception class)", "OpenSSLError")
    )
    for client in (SslClient(), LegacySslClient()):
        with pytest.raises(Exception) as raised:
            client.set_cipher_list("NO-SUCH-SUITE")
        assert type(raised.value) is adapter.OpenSSLError, adapt(
            f"the error {type(client).__name__} raises ({type(raised.value)})", "OpenSSLError"
        )


def test_every_group_nassl_can_offer_has_a_name() -> None:
    table = private(ephemeral_key_info, "_OPENSSL_NID_TO_SECG_ANSI_X9_62", "curve_name")
    assert isinstance(table, dict), adapt(
        "_OPENSSL_NID_TO_SECG_ANSI_X9_62 (not a dict)", "curve_name"
    )
    offered = OpenSslEcNidEnum.get_supported_by_ssl_client()
    unnamed = [nid for nid in offered if nid not in table]
    assert not unnamed, adapt(
        f"_OPENSSL_NID_TO_SECG_ANSI_X9_62 (no name for {unnamed})", "curve_name"
    )
    assert adapter.curve_name(OpenSslEcNidEnum.X25519) == "X25519"
    assert all(isinstance(adapter.curve_name(nid), str) for nid in offered)


class _Counting:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.received = 0

    def recv(self, size: int) -> bytes:
        data = self.sock.recv(size)
        self.received += len(data)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


def test_the_client_socket_can_be_wrapped_where_its_handshake_reads() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        client = SslClient(underlying_socket=ours)
        wrapped = adapter.wrap_client_socket(client, _Counting)
        assert client.get_underlying_socket() is wrapped, adapt(
            "where a nassl client keeps its socket (BaseSslClient._sock)", "wrap_client_socket"
        )
    with pytest.raises(OSError):
        adapter.wrap_client_socket(SslClient(), _Counting)


# --- the Heartbleed and CCS injection handshakes ---

ALERT = bytes.fromhex("15030300020228")  # a TLS 1.2 handshake_failure alert record


# How each hijacked handshake ends when the server answers with an alert or closes before its
# ServerHelloDone: Heartbleed's says "not vulnerable"; CCS injection's returns, which answered.py
# reads as no verdict (the handshake that follows is not the test's).
ENDS = {"HEARTBLEED": "not vulnerable", "CCS_INJECTION": "returned"}


@pytest.mark.parametrize("test", sorted(ENDS))
@pytest.mark.parametrize("answer", [ALERT, b""], ids=["alert", "close"])
def test_a_hijacked_handshake_reads_through_the_wrapped_socket(test: str, answer: bytes) -> None:
    """What the server sent is read through the socket wrap_client_socket put in place (so
    answered.py can tell an answer from silence), and the test ends as it did."""
    hijacked: adapter.HijackedHandshake = getattr(adapter, test)
    for name in ("vulnerable", "not_vulnerable"):
        cls = getattr(hijacked, name)
        assert issubclass(cls, Exception), adapt(f"{test}'s {name} exception", test)
    function = hijacked.handshake.__name__
    assert parameters(hijacked.handshake) == ["self"], adapt(f"the parameters of {function}", test)
    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(answer)
        theirs.shutdown(socket.SHUT_WR)
        ours.settimeout(10)
        client = SslClient(ssl_version=OpenSslVersionEnum.TLSV1_2, underlying_socket=ours)
        counted = adapter.wrap_client_socket(client, _Counting)
        try:
            hijacked.handshake(client)
            ended = "returned"
        except hijacked.not_vulnerable:
            ended = "not vulnerable"
        assert ended == ENDS[test], adapt(f"how {function} ends on an early {answer!r}", test)
        assert counted.received == len(answer), adapt(
            f"how {function} reads the server (not through the client's socket: read "
            f"{counted.received} of {len(answer)} bytes)",
            test,
        )
        assert theirs.recv(5)[:1] == b"\x16", adapt(f"{function} (it sent no ClientHello)", test)


# --- the scanner: one endpoint's jobs, folded as the Scanner folds them ---

LOCATION = ServerNetworkLocation("127.0.0.1", 9, ip_address="127.0.0.1")  # never contacted
LOCATION_CONFIG = ServerNetworkConfiguration.default_for_server_location(LOCATION)
PROBING = ServerTlsProbingResult(
    highest_tls_version_supported=TlsVersionEnum.TLS_1_2,
    cipher_suite_supported="AES128-SHA",
    client_auth_requirement=ClientAuthRequirementEnum.DISABLED,
    supports_ecdh_key_exchange=True,
)


def test_the_scanner_helpers_keep_their_shape() -> None:
    jobs = private(_mass_scanner, "_generate_scan_jobs_for_server_scan", "scan_jobs")
    assert parameters(jobs) == ["server_scan_request", "server_connectivity_result"], adapt(
        "_generate_scan_jobs_for_server_scan's parameters", "scan_jobs"
    )
    fold = private(_mass_scanner, "_generate_result_for_completed_server_scan", "scan_result")
    assert parameters(fold) == ["completed_scan"], adapt(
        "_generate_result_for_completed_server_scan's parameters", "scan_result"
    )
    ongoing = private(_mass_scanner, "_OngoingServerScan", "scan_result")
    assert fields(ongoing) == [
        "server_scan_request",
        "server_connectivity_result",
        "assigned_queue",
        "scan_command_errors_during_queuing",
        "queued_scan_jobs_count",
        "completed_scan_jobs",
    ], adapt("_OngoingServerScan's fields", "scan_result")
    completed = private(_jobs_worker_thread, "CompletedScanJob", "completed_job")
    assert fields(completed) == [
        "parent_server_scan_request_uuid",
        "for_scan_command",
        "return_value",
        "exception",
    ], adapt("CompletedScanJob's fields (completed_job passes them in order)", "completed_job")


def test_jobs_run_by_us_fold_into_the_scanners_result() -> None:
    commands = {ScanCommand.TLS_COMPRESSION, ScanCommand.HEARTBLEED}
    request = ServerScanRequest(server_location=LOCATION, scan_commands=commands)
    jobs, errors = adapter.scan_jobs(request, PROBING)
    assert set(jobs) == commands and not errors, adapt("the jobs of a scan request", "scan_jobs")
    for job in jobs[ScanCommand.TLS_COMPRESSION]:  # engine.scan calls them so
        assert callable(job.function_to_call) and isinstance(job.function_arguments, list), adapt(
            "ScanJob's fields", "scan_jobs"
        )
        assert isinstance(job.function_arguments[0], ServerConnectivityInfo)
    done = [
        adapter.completed_job(request.uuid, ScanCommand.TLS_COMPRESSION, True, None),
        adapter.completed_job(request.uuid, ScanCommand.HEARTBLEED, None, OSError("reset")),
    ]
    result = adapter.scan_result(request, PROBING, errors, done)
    assert isinstance(result, ServerScanResult), adapt("what the fold returns", "scan_result")
    assert result.scan_result is not None
    compression = result.scan_result.tls_compression
    assert compression.status is ScanCommandAttemptStatusEnum.COMPLETED, adapt(
        "how a job's return value is folded", "scan_result"
    )
    assert compression.result is not None and compression.result.supports_compression is True
    heartbleed = result.scan_result.heartbleed
    assert heartbleed.status is ScanCommandAttemptStatusEnum.ERROR, adapt(
        "how a job's exception is folded (it must be an error, never a result)", "scan_result"
    )


# --- the socket opener ---


def test_sslyze_opens_its_direct_connections_through_the_replaceable_opener() -> None:
    opener = private(tls_connection, "_open_socket_for_direct_connection", "replace_direct_opener")
    assert parameters(opener) == ["server_location", "network_timeout"], adapt(
        "_open_socket_for_direct_connection's parameters", "DirectOpener"
    )
    assert adapter.SSLYZE_DIRECT_OPENER.__module__ == tls_connection.__name__, adapt(
        "the opener captured at import", "SSLYZE_DIRECT_OPENER"
    )
    asked: list[tuple[str | None, int, int]] = []

    def recording(location: ServerNetworkLocation, timeout: int) -> socket.socket:
        asked.append((location.ip_address, location.port, timeout))
        raise ConnectionRefusedError("the recording opener connects nowhere")

    info = ServerConnectivityInfo(
        server_location=LOCATION,
        network_configuration=LOCATION_CONFIG,
        tls_probing_result=PROBING,
    )
    before = adapter.direct_opener()  # the pace's, when a TLS test ran in this process
    adapter.replace_direct_opener(recording)
    try:
        assert adapter.direct_opener() is recording
        connection = info.get_preconfigured_tls_connection()
        with pytest.raises(Exception):  # noqa: B017 - sslyze wraps the refusal in its own errors
            connection.connect(should_retry_connection=False)
        connection.close()
    finally:
        adapter.replace_direct_opener(before)
    assert asked == [("127.0.0.1", 9, LOCATION_CONFIG.network_timeout)], adapt(
        "how sslyze opens a direct connection (it no longer calls the replaced opener)",
        "replace_direct_opener",
    )


# --- the cipher suite scan ---


def offer(version: TlsVersionEnum, suites: list[str], client: Any) -> None:
    try:
        adapter.set_cipher_suites(version, suites, client)
    except Exception as exc:
        pytest.fail(
            adapt(f"_set_cipher_suite_string ({version.name}: {exc!r})", "set_cipher_suites")
        )


def test_the_suite_string_setter_offers_exactly_the_suites_given() -> None:
    setter = private(_test_cipher_suite, "_set_cipher_suite_string", "set_cipher_suites")
    assert parameters(setter) == ["tls_version", "cipher_suite_str", "ssl_client"], adapt(
        "_set_cipher_suite_string's parameters", "set_cipher_suites"
    )
    tls12 = SslClient(ssl_version=OpenSslVersionEnum.TLSV1_2)
    offer(TlsVersionEnum.TLS_1_2, ["AES128-SHA", "AES256-SHA"], tls12)
    up_to_12 = [s for s in tls12.get_cipher_list() if not s.startswith("TLS_")]
    assert sorted(up_to_12) == ["AES128-SHA", "AES256-SHA"], adapt(
        f"_set_cipher_suite_string for TLS 1.2 (offers {up_to_12})", "set_cipher_suites"
    )
    tls13 = SslClient(ssl_version=OpenSslVersionEnum.TLSV1_3)
    offer(TlsVersionEnum.TLS_1_3, ["TLS_AES_128_GCM_SHA256"], tls13)
    only13 = [s for s in tls13.get_cipher_list() if s.startswith("TLS_")]
    assert only13 == ["TLS_AES_128_GCM_SHA256"], adapt(
        f"_set_cipher_suite_string for TLS 1.3 (offers {only13})", "set_cipher_suites"
    )
    legacy = LegacySslClient(ssl_version=OpenSslVersionEnum.TLSV1)
    offer(TlsVersionEnum.TLS_1_0, ["DES-CBC3-SHA"], legacy)
    assert legacy.get_cipher_list() == ["DES-CBC3-SHA"], adapt(
        "_set_cipher_suite_string for the legacy client", "set_cipher_suites"
    )


def test_the_tls12_suites_still_split_between_the_two_openssls() -> None:
    workaround = private(
        _tls12_workaround, "WorkaroundForTls12ForCipherSuites", "requires_legacy_openssl"
    )
    assert parameters(workaround.requires_legacy_openssl) == ["openssl_cipher_name"], adapt(
        "requires_legacy_openssl's parameters", "requires_legacy_openssl"
    )
    names = [
        s.openssl_name for s in CipherSuitesRepository.get_all_cipher_suites(TlsVersionEnum.TLS_1_2)
    ]
    answers = {name: adapter.requires_legacy_openssl(name) for name in names}
    assert all(isinstance(a, bool) for a in answers.values()), adapt(
        "what requires_legacy_openssl returns", "requires_legacy_openssl"
    )
    assert any(answers.values()) and not all(answers.values()), adapt(
        "the TLS 1.2 split (versions._suite_groups sends one hello per OpenSSL)",
        "requires_legacy_openssl",
    )


def test_the_cipher_suite_results_keep_their_fields() -> None:
    # versions.enumerate_suites builds them by keyword, as sslyze's own scan does
    assert fields(adapter.CipherSuiteAcceptedByServer) == ["cipher_suite", "ephemeral_key"], adapt(
        "CipherSuiteAcceptedByServer's fields", "CipherSuiteAcceptedByServer"
    )
    assert fields(adapter.CipherSuiteRejectedByServer) == ["cipher_suite", "error_message"], adapt(
        "CipherSuiteRejectedByServer's fields", "CipherSuiteRejectedByServer"
    )
