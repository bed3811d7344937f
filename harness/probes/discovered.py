"""Discovery: what the areas make of each port the port scan found (pure logic, no network).

nmap -sV already says what speaks TLS (`tunnel="ssl"`, or names like https, imaps), SSH, FTP,
SMTP, HTTP. `classify` reads one identified port into a `Guess`; `plan` turns a target's
found ports, plus the few facts discovery had to ask the service itself (`Facts`: does this
SMTP offer STARTTLS, does this HTTP ask for credentials), into `Found` rows: the endpoint each
area examines, or why none does. Every open port gets a row; nothing is dropped silently.

Why facts: nmap's version scan does not say whether a plain SMTP, IMAP, POP3, FTP or
PostgreSQL service offers STARTTLS, nor whether an HTTP server asks for credentials. Handing
sslyze a STARTTLS endpoint that does not offer it gives "could not measure", and an http-basic
login check on a page without a challenge says nothing; so discovery asks first
(harness.probes.discovery_facts), and a service that says no stays in the list, unexamined.

Safety: a discovered login endpoint carries no credentials, usernames or password file: only
the shipped public lists are tried, and only when the target says `discovered_logins: true`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from harness.inventory.models import LoginEndpoint, SshEndpoint, Target, TlsEndpoint
from harness.inventory.values import LoginKind
from harness.probes.ports_model import OpenPort, PortScan, UdpScan

# nmap service names of implicit-TLS services (nmap also sets tunnel="ssl" when it saw TLS)
TLS_NAMES = frozenset(
    {"https", "https-alt", "ssl", "imaps", "pop3s", "smtps", "submissions", "ldaps", "ftps"}
)
# nmap service name -> the STARTTLS protocol sslyze speaks (the targets.yaml `starttls` value)
STARTTLS_NAMES = {
    "smtp": "smtp",
    "submission": "smtp",
    "imap": "imap",
    "pop3": "pop3",
    "ftp": "ftp",
    "postgresql": "postgres",
    "ldap": "ldap",
    "xmpp-client": "xmpp",
    "jabber": "xmpp",
    "xmpp-server": "xmpp_server",
}
# STARTTLS protocols discovery can ask about (harness.probes.discovery_facts); for the others a
# row says to declare the endpoint
ASKED_STARTTLS = frozenset({"smtp", "imap", "pop3", "ftp", "postgres"})
HTTP_NAMES = frozenset({"http", "http-alt", "http-proxy", "https", "https-alt"})
# implicit-TLS services nmap names that are not web servers: no HSTS check there
NOT_WEB_TLS = frozenset({"imaps", "pop3s", "smtps", "submissions", "ldaps", "ftps", "ssh"})


class Kind(StrEnum):
    TLS = "tls"  # TLS from the first byte
    STARTTLS = "starttls"  # plain text that may upgrade to TLS
    SSH = "ssh"
    FTP = "ftp"
    HTTP = "http"
    SNMP = "snmp"


@dataclass(frozen=True)
class Guess:
    """What nmap's answer for one port says it is (several kinds: FTP may also offer TLS)."""

    kinds: tuple[Kind, ...]
    starttls: str | None = None  # the protocol, for Kind.STARTTLS
    why_not: str = ""  # no kind: why (not identified, or no area examines it)


def classify(port: OpenPort) -> Guess:
    name = port.service
    if not port.identified and port.tunnel != "ssl":
        return Guess((), why_not=f"not identified by nmap ({port.version_status})")
    kinds: list[Kind] = []
    starttls = None
    if port.protocol == "udp":
        if name == "snmp":
            return Guess((Kind.SNMP,))
        return Guess((), why_not=f"no area examines {name or 'this service'} over UDP")
    if port.tunnel == "ssl" or name in TLS_NAMES or name.startswith("ssl/"):
        kinds.append(Kind.TLS)
    elif name in STARTTLS_NAMES:
        kinds.append(Kind.STARTTLS)
        starttls = STARTTLS_NAMES[name]
    if name == "ssh":
        kinds.append(Kind.SSH)
    if name == "ftp" or name == "ftps":
        kinds.append(Kind.FTP)
    if name in HTTP_NAMES:
        kinds.append(Kind.HTTP)
    if not kinds:
        return Guess((), why_not=f"no area examines {name or 'an unnamed service'}")
    return Guess(tuple(kinds), starttls)


@dataclass(frozen=True)
class Facts:
    """What discovery asked one port's service: a STARTTLS offer (True, False, or None: not
    asked or no clear answer) and an HTTP challenge ('basic', 'digest' or '')."""

    starttls: bool | None = None
    http_auth: str = ""
    note: str = ""  # why the answer is unclear


@dataclass(frozen=True)
class Found:
    """One open port of a target and the endpoint each area examines there (None: not
    discovered for that area). `why_not` says why a port is examined by no discovered area."""

    port: int
    protocol: str
    service: str  # nmap's words ('ssl/http: nginx 1.22')
    tls: TlsEndpoint | None = None
    ssh: SshEndpoint | None = None
    login: LoginEndpoint | None = None
    why_not: str = ""
    classified: bool = True  # False: nmap's answer fits no area (or nmap could not tell)

    @property
    def label(self) -> str:
        return f"{self.port}/{self.protocol}"


def facts_wanted(target: Target, port: OpenPort) -> str | None:
    """Which question discovery must ask this port: 'starttls:<protocol>', 'http', or None."""
    guess = classify(port)
    if Kind.STARTTLS in guess.kinds and guess.starttls in ASKED_STARTTLS:
        return f"starttls:{guess.starttls}"
    if Kind.HTTP in guess.kinds and target.discovered_logins:
        return "http"
    return None


def open_ports(scans: list[PortScan]) -> list[OpenPort]:
    """The open TCP and UDP ports of every address of a target, each port once (the first
    address that has it open describes it)."""
    seen: dict[tuple[int, str], OpenPort] = {}
    for scan in scans:
        udp = scan.udp.open_ports if isinstance(scan.udp, UdpScan) else ()
        for port in (*scan.open_ports, *udp):
            seen.setdefault((port.port, port.protocol), port)
    return [seen[k] for k in sorted(seen, key=lambda k: (k[1], k[0]))]


def plan(target: Target, ports: list[OpenPort], facts: dict[int, Facts]) -> list[Found]:
    """One row per open port: the endpoints discovery gives each area (before the declared
    endpoints are taken out, see harness.session.discovery)."""
    return [_found(target, port, classify(port), facts.get(port.port, Facts())) for port in ports]


def _found(target: Target, port: OpenPort, guess: Guess, facts: Facts) -> Found:
    described = port.describe()
    if not guess.kinds:
        return Found(port.port, port.protocol, described, why_not=guess.why_not, classified=False)
    tls = ssh = login = None
    why: list[str] = []
    web = Kind.HTTP in guess.kinds
    if Kind.TLS in guess.kinds:
        # as a declared endpoint: HTTPS (the HSTS check) unless nmap named another protocol
        tls = TlsEndpoint(port=port.port, https=False if port.service in NOT_WEB_TLS else None)
    elif Kind.STARTTLS in guess.kinds:
        if guess.starttls not in ASKED_STARTTLS:
            why.append(
                f"STARTTLS ({guess.starttls}) is not asked about by discovery: declare it in tls "
                f"with starttls: {guess.starttls} to examine it"
            )
        elif facts.starttls:
            tls = TlsEndpoint(port=port.port, starttls=guess.starttls, https=False)  # type: ignore[arg-type]
        elif facts.starttls is False:
            why.append(f"plain {port.service} without STARTTLS (credentials travel in clear)")
        else:
            why.append(f"STARTTLS offer unclear: {facts.note or 'not asked'}")
    if Kind.SSH in guess.kinds:
        ssh = SshEndpoint(port=port.port)
    if target.discovered_logins:
        login = _login(target, port, guess, facts, why)
    elif Kind.FTP in guess.kinds or Kind.SNMP in guess.kinds or (web and facts.http_auth):
        why.append("login checks on discovered services are off (discovered_logins: false)")
    if tls is None and ssh is None and login is None and not why:
        why.append(
            "only login checks would examine it, and they are off on discovered ports "
            "(discovered_logins: false)"
        )
    return Found(port.port, port.protocol, described, tls, ssh, login, "; ".join(why))


def _login(
    target: Target, port: OpenPort, guess: Guess, facts: Facts, why: list[str]
) -> LoginEndpoint | None:
    """A login endpoint on the public lists only: no credentials, usernames or passwords_file."""
    if Kind.SSH in guess.kinds:
        return LoginEndpoint(kind="ssh", port=port.port)
    if Kind.FTP in guess.kinds:
        return LoginEndpoint(kind="ftp", port=port.port)
    if Kind.SNMP in guess.kinds:
        return LoginEndpoint(kind="snmp", port=port.port)
    if Kind.HTTP in guess.kinds:
        if not facts.http_auth:
            why.append(
                "HTTP without a Basic or Digest challenge at / (no login check: declare a form "
                "login to examine it)"
                if not facts.note
                else f"HTTP challenge unclear: {facts.note}"
            )
            return None
        scheme = "https" if Kind.TLS in guess.kinds else "http"
        host = f"[{target.host}]" if ":" in target.host else target.host
        kind: LoginKind = "http-digest" if facts.http_auth == "digest" else "http-basic"
        return LoginEndpoint(kind=kind, url=f"{scheme}://{host}:{port.port}/")
    return None
