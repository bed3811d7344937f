"""The lab's process: `python -m harness.lab.server DIR` runs every service until SIGTERM."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path

from harness.lab import LEGACY_HOST, SECURE_HOST
from harness.lab.login_services import anonymous_ftp, ssh_banner
from harness.lab.net_services import redis_like
from harness.lab.tls_services import legacy_context, make_certs, secure_context
from harness.lab.udp_services import NtpServer, SnmpAgent
from harness.lab.web import serve


def main(argv: list[str]) -> int:
    lab_dir = Path(argv[0])
    lab_dir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.WARNING)
    certs = make_certs(lab_dir)
    serve(SECURE_HOST, 8443, "secure", secure_context(certs["secure"]))
    serve(LEGACY_HOST, 8443, "legacy", legacy_context(certs["legacy"]))
    serve(LEGACY_HOST, 4443, "legacy", legacy_context(certs["legacy"]))  # declared nowhere
    serve(LEGACY_HOST, 8080, "legacy")
    ssh_banner(LEGACY_HOST, 2222)
    anonymous_ftp(LEGACY_HOST, 2121, lab_dir / "ftp")
    redis_like(LEGACY_HOST, 6379)
    try:
        SnmpAgent(LEGACY_HOST, 161)
        NtpServer(LEGACY_HOST, 123)
    except PermissionError:
        print("lab: UDP services skipped: binding ports 161 and 123 needs root", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print("lab ready", flush=True)
    stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
