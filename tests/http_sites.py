"""A real HTTP server whose answer per path the test gives: (status, headers, body), with a
default for every other path. Counts the requests it saw, so a test can say where a probe went.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Route = tuple[int, dict[str, str], str]
NOT_FOUND: Route = (404, {}, "not found")


class Site:
    def __init__(self, routes: dict[str, Route], host: str, default: Route = NOT_FOUND) -> None:
        self.routes = routes
        self.default = default
        self.requests: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                site.requests.append(f"{self.command} {self.path}")
                status, headers, body = site.routes.get(self.path.split("?", 1)[0], site.default)
                data = body.encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = answer

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.host = host
        self.port: int = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
