"""The login keys this work added: SSH host-key pins, a deletion URL for created accounts, and
subject names that tell endpoints on one port apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import InventoryError
from harness.inventory import load, loads
from harness.session.subjects import subjects

FP = "SHA256:GdMPX6pBxp+q3YGsb6ObTw1NwsPTF3kFA0daO0cbU3M"


def targets(tmp_path: Path, *logins: str) -> Path:
    body = "".join(f"      - {login}\n" for login in logins)
    path = tmp_path / "targets.yaml"
    path.write_text(
        f"version: 1\ntargets:\n  - name: ops-console\n    host: 127.0.0.1\n    logins:\n{body}"
    )
    return path


def error(tmp_path: Path, *logins: str) -> str:
    path = targets(tmp_path, *logins)
    with pytest.raises(InventoryError) as info:
        load(path)
    message = info.value.render()
    assert str(path) in message and "Traceback" not in message
    return message


@pytest.mark.parametrize(
    ("login", "expected"),
    [
        ("{kind: ssh, host_key: 'MD5:ab:cd'}", "as `ssh-keygen -lf` prints it"),
        ("{kind: ssh, host_key: 'SHA256:short'}", "SHA256 fingerprint"),
        (f"{{kind: ftp, host_key: '{FP}'}}", "only an ssh login has one"),
        (f"{{kind: ssh, host_key: '{FP}', known_hosts: kh}}", "not both"),
        ("{kind: ssh, known_hosts: missing_file}", "known_hosts file 'missing_file' does not"),
        (
            "{kind: http-basic, url: 'https://h/a', password_policy: "
            "{url: 'https://h/r', delete_url: 'https://h/users'}}",
            "{username}",
        ),
    ],
)
def test_bad_login_keys_name_the_key_and_the_fix(tmp_path: Path, login: str, expected: str) -> None:
    message = error(tmp_path, login)
    assert expected in message and "ops-console" in message and "line 6" in message


def test_good_pins_and_delete_url_load(tmp_path: Path) -> None:
    (tmp_path / "kh").write_text("")
    inv = load(
        targets(
            tmp_path,
            f"{{kind: ssh, host_key: '{FP}'}}",
            "{kind: ssh, port: 2222, known_hosts: kh}",
            "{kind: http-json, url: 'https://h/a', password_policy: "
            "{url: 'https://h/r', kind: json, delete_url: 'https://h/users/{username}'}}",
        )
    )
    ssh, other, web = inv.targets[0].logins
    assert ssh.host_key == FP and other.known_hosts == Path("kh")
    assert web.password_policy is not None and web.password_policy.delete_method == "DELETE"


def test_endpoints_sharing_a_port_are_named_by_their_path() -> None:
    inv = loads(
        "version: 1\ntargets:\n  - name: ops-console\n    host: 127.0.0.1\n    logins:\n"
        "      - {kind: http-basic, url: 'http://127.0.0.1:8080/ops'}\n"
        "      - {kind: http-basic, url: 'http://127.0.0.1:8080/admin'}\n"
        "      - {kind: http-basic, url: 'http://127.0.0.1:8080/admin?realm=2'}\n"
        "      - {kind: http-form, url: 'http://127.0.0.1:8080/login'}\n"
        "      - {kind: ssh, port: 22}\n"
    )
    assert [j.key for j in subjects(inv, "logins")] == [
        "ops-console:http-basic:8080/ops",
        "ops-console:http-basic:8080/admin",
        "ops-console:http-basic:8080/admin#2",  # same path too: only then a number
        "ops-console:http-form:8080",  # alone of its kind on the port: no path needed
        "ops-console:ssh:22",
    ]


def test_a_login_without_a_port_is_named_and_probed_at_its_kinds_well_known_port() -> None:
    inv = loads(
        "version: 1\ntargets:\n  - name: edge\n    host: 127.0.0.1\n    logins:\n"
        "      - {kind: ssh}\n      - {kind: ftp}\n      - {kind: snmp}\n"
        "      - {kind: http-basic, url: 'https://127.0.0.1/admin'}\n"
    )
    jobs = subjects(inv, "logins")
    assert [j.key for j in jobs] == [
        "edge:ssh:22",
        "edge:ftp:21",
        "edge:snmp:161",
        "edge:http-basic:443",
    ]
    assert [j.endpoint.effective_port for j in jobs] == [22, 21, 161, 443]  # type: ignore[union-attr]
