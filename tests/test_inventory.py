"""targets.yaml validation: every bad input gives one clear message naming file, target, key, line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harness.errors import InventoryError
from harness.inventory import load, loads
from harness.inventory.values import check_port_scan
from harness.lab.pki import make_ca

GOOD = """\
version: 1
defaults:
  timeout: 5
targets:
  - name: web-01
    host: www.example.com
    tags: [prod, web]
    ports: {expected: [80, 443], scan: top-1000}
    tls:
      - port: 443
        server_name: www.example.com
        profile: modern
        min_grade: A+
    http:
      - url: https://www.example.com/
    logins:
      - kind: http-basic
        url: https://www.example.com/admin
      - kind: ssh
        port: 22
        usernames: [deploy]
waivers:
  - check: banner.disclosure
    target: web-01
    reason: vendor appliance
    expires: 2027-03-31
"""


def _error(text: str, tmp_path: Path) -> str:
    path = tmp_path / "targets.yaml"
    path.write_text(textwrap.dedent(text))
    with pytest.raises(InventoryError) as info:
        load(path)
    message = info.value.render()
    assert str(path) in message
    assert "Traceback" not in message
    return message


def test_the_contract_example_loads_with_inheritance() -> None:
    inv = loads(GOOD)
    web = inv.target("web-01")
    tls = web.tls[0]
    settings = inv.settings(web, tls)
    assert settings.timeout == 5
    assert settings.tls_profile == "modern"
    assert settings.min_grade == "A+"
    assert inv.settings(web).tls_profile == "intermediate"
    assert web.ports is not None and web.ports.expected == [80, 443]


def test_the_shipped_files_are_valid(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    inv = loads((root / "examples" / "targets.example.yaml").read_text())
    assert len(inv.targets) >= 3
    # targets.yaml names the CA that `harness lab up` writes: made here, so the test does not
    # depend on a lab started by another test (or on test order, under xdist)
    (tmp_path / "reports" / "lab").mkdir(parents=True)
    make_ca(tmp_path / "reports" / "lab")
    shipped = loads((root / "targets.yaml").read_text(), base_dir=tmp_path)
    assert {t.host for t in shipped.targets} <= {"127.0.0.11", "127.0.0.12"}


def test_unknown_key_names_target_key_line_and_allowed_keys(tmp_path: Path) -> None:
    msg = _error(GOOD.replace("        server_name:", "        server_nmae:"), tmp_path)
    assert "target 'web-01'" in msg
    assert "tls[0].server_nmae" in msg
    assert "line 11" in msg
    assert "allowed here" in msg and "server_name" in msg


def test_wrong_type(tmp_path: Path) -> None:
    msg = _error(GOOD.replace("timeout: 5", "timeout: soon"), tmp_path)
    assert "key 'defaults.timeout'" in msg or "key 'timeout'" in msg
    assert "expected a valid number" in msg
    assert "'soon'" in msg
    assert "line 3" in msg


def test_missing_host(tmp_path: Path) -> None:
    msg = _error(GOOD.replace("    host: www.example.com\n", ""), tmp_path)
    assert "target 'web-01'" in msg
    assert "'host'" in msg
    assert "required key is missing" in msg


def test_duplicate_name(tmp_path: Path) -> None:
    doubled = GOOD.replace("waivers:", "  - name: web-01\n    host: 127.0.0.1\nwaivers:")
    msg = _error(doubled, tmp_path)
    assert "duplicate target name 'web-01'" in msg
    assert "line 22" in msg


@pytest.mark.parametrize(
    "host",
    [
        "-iL /etc/passwd",
        "-oN x",
        "127.0.0.1 --script=x",
        "a b",
        "127.0.0.0/8",
        "256.1.1.1",
        "x_-.",
        "",
    ],
)
def test_hostile_or_invalid_hosts_are_rejected(tmp_path: Path, host: str) -> None:
    msg = _error(GOOD.replace("host: www.example.com", f"host: '{host}'"), tmp_path)
    assert "key 'host'" in msg


def test_option_injection_message_is_explicit(tmp_path: Path) -> None:
    msg = _error(GOOD.replace("host: www.example.com", "host: '-iL /etc/passwd'"), tmp_path)
    assert "must not start with '-'" in msg


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "www.example.com", "db_1.corp"])
def test_valid_hosts(host: str) -> None:
    assert loads(GOOD.replace("host: www.example.com", f"host: '{host}'")).targets[0].host == host


def test_broken_yaml_gives_the_line(tmp_path: Path) -> None:
    msg = _error("version: 1\ntargets:\n  - name: [unclosed\n", tmp_path)
    assert "broken YAML" in msg
    assert "line " in msg


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InventoryError) as info:
        load(tmp_path / "nope.yaml")
    assert "file not found" in info.value.render()
    assert "nope.yaml" in info.value.render()


def test_empty_inventory_is_an_error_not_a_silent_pass(tmp_path: Path) -> None:
    msg = _error("version: 1\ntargets: []\n", tmp_path)
    assert "targets" in msg


def test_unknown_waiver_check_and_target(tmp_path: Path) -> None:
    msg = _error(
        GOOD.replace("check: banner.disclosure", "check: banner.nope").replace(
            "    target: web-01\n    reason", "    target: web-02\n    reason"
        ),
        tmp_path,
    )
    assert "unknown check id 'banner.nope'" in msg
    assert "'web-02', which is not declared" in msg


def test_missing_ca_bundle_file(tmp_path: Path) -> None:
    msg = _error(GOOD.replace("timeout: 5", "timeout: 5\n  ca_bundle: internal-ca.pem"), tmp_path)
    assert "internal-ca.pem" in msg and "does not exist" in msg


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text(GOOD + "#" * 1_100_000)
    with pytest.raises(InventoryError, match="limit"):
        load(path)


def test_yaml_tags_cannot_build_objects(tmp_path: Path) -> None:
    msg = _error("version: 1\ntargets: !!python/object/apply:os.system ['true']\n", tmp_path)
    assert "broken YAML" in msg or "expected" in msg


@pytest.mark.parametrize(
    ("spec", "normal"),
    [
        ("top-100", "top-100"),
        ("all", "all"),
        (22, "22"),
        ([22, "80-90"], "22,80-90"),
        ("22, 443", "22,443"),
    ],
)
def test_port_specs(spec: str | int | list[int | str], normal: str) -> None:
    assert check_port_scan(spec) == normal


@pytest.mark.parametrize("spec", ["-p-", "top-0", "22,", "80-22", "70000", "1;rm", "--script x"])
def test_bad_port_specs(spec: str) -> None:
    with pytest.raises(ValueError):
        check_port_scan(spec)


def test_yaml_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    lines.append("version: 1\ntargets: *a8")
    msg = _error("\n".join(lines) + "\n", tmp_path)
    assert "aliases" in msg
