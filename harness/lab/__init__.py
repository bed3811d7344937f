"""The embedded demo lab: real services on loopback with known weaknesses.

`harness lab up|down|status` starts them in one background process (harness.lab.server).
Every service binds to 127.0.0.11 (strong) or 127.0.0.12 (legacy), never to another address.
"""

from __future__ import annotations

from dataclasses import dataclass

SECURE_HOST = "127.0.0.11"
LEGACY_HOST = "127.0.0.12"


@dataclass(frozen=True)
class Service:
    name: str
    host: str
    port: int
    weakness: str


SERVICES: tuple[Service, ...] = (
    Service("secure-https", SECURE_HOST, 8443, "none: TLS 1.2/1.3, ECDHE+AEAD, lab-CA cert, HSTS"),
    Service(
        "legacy-https",
        LEGACY_HOST,
        8443,
        "TLS 1.0/1.1, weak suites, self-signed expired RSA-1024 SHA-1 cert, no HSTS",
    ),
    Service(
        "legacy-http",
        LEGACY_HOST,
        8080,
        "Apache/2.2.15 + PHP/5.3.3 banners, basic auth admin/admin on /admin, cleartext login",
    ),
    Service(
        "legacy-ssh",
        LEGACY_HOST,
        2222,
        "OpenSSH_7.4 banner, deploy/123456, CBC/3DES ciphers, MD5 MACs, no strict kex (Terrapin)",
    ),
    Service("legacy-ftp", LEGACY_HOST, 2121, "vsFTPd 2.3.4 banner, anonymous login"),
    Service("legacy-redis", LEGACY_HOST, 6379, "undeclared Redis-like port"),
    Service(
        "legacy-admin-tls",
        LEGACY_HOST,
        4443,
        "undeclared HTTPS admin port with the legacy TLS settings: found by discovery",
    ),
)

# UDP services (ports 161 and 123 need root, as nmap -sU does): started when the lab can bind
# them, and not waited for otherwise, so the TCP lab still runs for an unprivileged user
UDP_SERVICES: tuple[Service, ...] = (
    Service("legacy-snmp", LEGACY_HOST, 161, "SNMPv2c agent answering the community 'public'"),
    Service("legacy-ntp", LEGACY_HOST, 123, "NTP server answering mode 6 (ntpq) queries"),
)
