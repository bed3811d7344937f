"""The checks of single values in targets.yaml (hosts, names, port specs, URLs, host-key
fingerprints), and the typed fields that apply them.

A host is an IP address or a DNS name and never starts with '-', so no value from the file can
become a command-line option of nmap or any other tool.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field

_DNS_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")
_RANGE_LABEL = re.compile(r"^[0-9-]+$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_PORT_SPEC = re.compile(r"^\d{1,5}(-\d{1,5})?(,\d{1,5}(-\d{1,5})?)*$")
_TOP_N = re.compile(r"^top-(\d{1,5})$")
_FINGERPRINT = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}$")


def check_host(value: str) -> str:
    """An IP address or a DNS name. Never a leading '-', never whitespace, never a range."""
    if value.startswith("-"):
        raise ValueError(
            "a host must not start with '-' (it would be read as a command option);"
            " expected one IP address or DNS name. Fix: write the host's address or name"
        )
    if not value or any(c.isspace() for c in value):
        raise ValueError(
            "expected one IP address or DNS name, without spaces. Fix: declare one host per target"
        )
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        pass
    else:
        _check_unicast(address)
        return value
    if "://" in value:  # checked before '/': a URL is no CIDR range
        bare = urlsplit(value).hostname or "the name or address"
        raise ValueError(
            "a host is a name or an address, not a URL. Fix: write host: "
            f"{bare} and put the URL under http: or logins:"
        )
    if "/" in value:
        raise ValueError("CIDR ranges are not accepted. Fix: declare each host as its own target")
    if "," in value:
        raise ValueError("host lists are not accepted. Fix: declare each host as its own target")
    name = value[:-1] if value.endswith(".") else value
    labels = name.split(".")
    if len(name) > 253 or not all(_DNS_LABEL.match(label) for label in labels):
        raise ValueError(
            "not a valid IP address or DNS name (labels of letters, digits, '-', at most 63 "
            "characters each, 253 in all). Fix: correct the host"
        )
    if all(_RANGE_LABEL.match(label) for label in labels) and "-" in name:
        # nmap reads 10.0.0.1-20 as twenty hosts; as a name it is only ever a mistake
        raise ValueError(
            "address ranges are not accepted. Fix: declare each host as its own target"
        )
    if labels[-1].isdigit():
        raise ValueError(
            "looks like an IP address but is not a valid one. Fix: correct the address"
        )
    return value


_BROADCAST = ipaddress.IPv4Address("255.255.255.255")


def _check_unicast(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    """One host, never 'any address', a group or everyone on the link: a probe sent to those
    reaches machines nobody declared (or none)."""
    mapped = getattr(address, "ipv4_mapped", None)
    inner = mapped if mapped is not None else address
    if inner.is_unspecified:
        what = "the unspecified address (any host)"
    elif inner.is_multicast:
        what = "a multicast address (a group of hosts)"
    elif inner == _BROADCAST:
        what = "the broadcast address (every host on the link)"
    else:
        return
    raise ValueError(f"{what} is not one host. Fix: declare the address of the host itself")


def check_name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(
            "a name must start with a letter or digit and use only letters, digits, '.', '_', '-'"
            " (at most 63 characters). Fix: rename it, e.g. web-01"
        )
    return value


def check_port_scan(value: str | int | list[int | str]) -> str:
    """Normalise ports.scan to 'top-N', 'all' or a port list such as '22,80,8000-8100'."""
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    value = re.sub(r"\s*,\s*", ",", value.strip())  # "22, 443" is fine; "22 80" is no 2280
    if value == "all":
        return value
    top = _TOP_N.match(value)
    if top:
        if not 1 <= int(top.group(1)) <= 65535:
            raise ValueError("top-N needs N between 1 and 65535. Fix: e.g. scan: top-1000")
        return value
    if not _PORT_SPEC.match(value):
        top = re.fullmatch(r"top[\s_]*(\d{1,5})", value, re.IGNORECASE)
        fix = (
            f"did you mean 'top-{top.group(1)}'? Write scan: top-{top.group(1)}"
            if top
            else "write one of those, e.g. scan: top-1000"
        )
        raise ValueError(
            f"expected 'top-N', 'all', or ports and ranges like '22,80,8000-8100'. Fix: {fix}"
        )
    for part in value.split(","):
        lo, _, hi = part.partition("-")
        if not 1 <= int(lo) <= 65535 or (hi and not int(lo) <= int(hi) <= 65535):
            raise ValueError(
                f"port range {part!r} is outside 1-65535 or reversed. Fix: write it low-high, "
                "e.g. 8000-8100"
            )
    return value


def check_udp_scan(value: str | int | list[int | str]) -> str:
    """Normalise ports.udp: 'risky' (the shipped list), 'none', 'top-N' or a port list."""
    if isinstance(value, str) and value.strip() in ("risky", "none"):
        return value.strip()
    if isinstance(value, str) and value.strip() == "all":
        raise ValueError(
            "'all' is not accepted for UDP: 65535 UDP ports take hours per host. Fix: use "
            "'risky', 'top-N' or a port list like '53,161,11211'"
        )
    try:
        return check_port_scan(value)
    except ValueError:
        raise ValueError(
            "expected 'risky', 'none', 'top-N', or ports and ranges like '53,161,11211'. Fix: "
            "write one of those, e.g. udp: risky"
        ) from None


def check_expected_port(value: object) -> int | str:
    """An allowlist entry: 22 or '22/tcp' (TCP, kept as the int 22) or '53/udp'."""
    if isinstance(value, bool):
        raise ValueError(
            "expected a port number, or 'N/udp' for a UDP port. Fix: write e.g. 22 or 53/udp"
        )
    text = str(value).strip().lower()
    match = re.fullmatch(r"(\d{1,5})(?:/(tcp|udp))?", text)
    if not match or not 1 <= int(match.group(1)) <= 65535:
        raise ValueError(
            "expected a port 1-65535, optionally as 'N/tcp' or 'N/udp'. Fix: write e.g. 22 or 53/udp"
        )
    number = int(match.group(1))
    return f"{number}/udp" if match.group(2) == "udp" else number


def port_number(value: object) -> object:
    """A quoted port ("2121") is read as the number, as ports.expected always has: quoting a
    number is a YAML habit, not a different value. Anything else goes on to the int check."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    return value


def check_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            "expected an http:// or https:// URL with a host. Fix: write it as https://host/path"
        )
    if "@" in parts.netloc:
        # a password written here would be copied into every result, report and log
        raise ValueError(
            "a URL must not hold a user name or password (user:pass@). Fix: remove it; "
            "declare the account under logins[].credentials with password_env"
        )
    try:
        port = parts.port  # None when the URL names no port
    except ValueError:  # not a number, or over 65535
        port = 0
    if port == 0:
        raise ValueError("the port in the URL must be a number 1-65535. Fix: correct the port")
    check_host(parts.hostname)
    return value


Host = Annotated[str, AfterValidator(check_host)]
Name = Annotated[str, AfterValidator(check_name)]
Url = Annotated[str, AfterValidator(check_url)]
Port = Annotated[int, BeforeValidator(port_number), Field(ge=1, le=65535, strict=True)]
PortScan = Annotated[str | int | list[int | str], AfterValidator(check_port_scan)]
UdpScan = Annotated[str | int | list[int | str], AfterValidator(check_udp_scan)]
# before the int|str check, which would read `true` as port 1
ExpectedPort = Annotated[int | str, BeforeValidator(check_expected_port)]
Profile = Literal["modern", "intermediate", "old"]
Grade = Literal["A+", "A", "A-", "B", "C", "D", "E", "F"]
StartTls = Literal["smtp", "imap", "pop3", "ftp", "ldap", "xmpp", "xmpp_server", "postgres", "rdp"]
LoginKind = Literal["http-basic", "http-digest", "http-form", "http-json", "ssh", "ftp", "snmp"]
Seconds = Annotated[float, Field(gt=0, le=3600)]


def check_delete_url(value: str) -> str:
    if "{username}" not in value:
        raise ValueError(
            "a delete_url names the account to delete with {username}. Fix: write it as "
            "https://host/api/users/{username}"
        )
    check_url(value.replace("{username}", "x"))
    return value


def check_fingerprint(value: str) -> str:
    if not _FINGERPRINT.match(value):
        raise ValueError(
            "expected a SHA256 fingerprint as `ssh-keygen -lf` prints it. Fix: copy it whole, "
            "e.g. SHA256:GdMPX6pBxp+q3YGsb6ObTw1NwsPTF3kFA0daO0cbU3M, or use known_hosts"
        )
    return value


DeleteUrl = Annotated[str, AfterValidator(check_delete_url)]
Fingerprint = Annotated[str, AfterValidator(check_fingerprint)]
