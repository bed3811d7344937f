"""Login services of the lab: an SSH banner and an anonymous FTP server with an old greeting."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from harness.lab.net_services import tcp_service


def ssh_banner(host: str, port: int = 2222) -> Any:
    return tcp_service(host, port, greeting=b"SSH-2.0-OpenSSH_7.4\r\n")


def anonymous_ftp(host: str, port: int, root: Path) -> Any:
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import ThreadedFTPServer

    root.mkdir(parents=True, exist_ok=True)
    (root / "README.txt").write_text("harness demo lab: anonymous FTP is a finding\n")
    authorizer = DummyAuthorizer()
    authorizer.add_anonymous(str(root))
    handler = type("LabFTP", (FTPHandler,), {"authorizer": authorizer, "banner": "(vsFTPd 2.3.4)"})
    server = ThreadedFTPServer((host, port), handler)
    threading.Thread(target=server.serve_forever, daemon=True, name=f"lab-ftp-{port}").start()
    return server
