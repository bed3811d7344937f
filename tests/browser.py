"""Headless Chromium driven over the DevTools protocol: every network request a page makes, and
screenshots. Debian's chromium and PyPI's websocket-client; nothing is downloaded."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import websocket

# what every headless Chromium of the tests needs on this offline machine: without the
# background-networking flags its own calls to Google's hosts are refused, many at a time
BASE_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FLAGS = [
    *BASE_FLAGS,
    "--disable-default-apps",
    "--disable-extensions",
    "--window-size=1400,1000",
    "--remote-debugging-port=0",
    "--remote-allow-origins=*",
]


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "Debian's chromium is required (scripts/setup.sh installs it)"
    return exe


class Page:
    """One tab. `requests` holds the URL of every request the page sent, in order."""

    def __init__(self, ws: websocket.WebSocket) -> None:
        self.ws = ws
        self.requests: list[str] = []
        self._next = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._next += 1
        ident = self._next
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            msg = self._receive(timeout=60)
            if msg is None:
                raise TimeoutError(f"no answer to {method}")
            if msg.get("id") == ident:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                result: dict[str, Any] = msg.get("result", {})
                return result

    def _receive(self, timeout: float) -> dict[str, Any] | None:
        self.ws.settimeout(timeout)
        try:
            msg: dict[str, Any] = json.loads(self.ws.recv())
        except websocket.WebSocketTimeoutException:
            return None
        if msg.get("method") == "Network.requestWillBeSent":
            self.requests.append(msg["params"]["request"]["url"])
        return msg

    def settle(self, quiet: float = 3.0, limit: float = 60.0) -> None:
        """Read events until the page has sent no request for `quiet` seconds."""
        end = time.monotonic() + limit
        while time.monotonic() < end:
            if self._receive(timeout=quiet) is None:
                return

    def open(self, url: str) -> None:
        self.call("Page.navigate", url=url)
        self.settle()

    def text(self, limit: float = 60.0) -> str:
        """The page's visible text, once it has some. On a busy machine (tests in parallel) a
        report's script can still be parsing, sending nothing, when `settle` stops: its body is
        empty until it has rendered. Once it has, the page settles again, so the requests that
        rendering made are read too."""
        end = time.monotonic() + limit
        waited = False
        while True:
            res = self.call("Runtime.evaluate", expression="document.body.innerText")
            value = str(res["result"].get("value", ""))
            if value.strip() or time.monotonic() >= end:
                if waited:
                    self.settle()
                return value
            waited = True
            self.settle(quiet=0.5, limit=1.0)  # reads the page's events meanwhile

    def screenshot(self, path: Path, height: int | None = None) -> None:
        """A PNG of the page; `height` makes the window that tall first, to show more of it."""
        if height is not None:
            self.call(
                "Emulation.setDeviceMetricsOverride",
                width=1400,
                height=height,
                deviceScaleFactor=1,
                mobile=False,
            )
            self.settle(quiet=1.0, limit=10.0)
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))


@contextmanager
def browser(profile: Path) -> Iterator[Page]:
    """A fresh Chromium with its own profile folder, and its first tab with Network enabled."""
    proc = subprocess.Popen(
        [chromium(), *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        end = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            assert proc.poll() is None, "chromium exited at start"
            assert time.monotonic() < end, "chromium did not open its DevTools port"
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as resp:
            tabs = json.loads(resp.read())
        tab = next(t for t in tabs if t.get("type") == "page")
        ws = websocket.create_connection(tab["webSocketDebuggerUrl"], timeout=60)
        page = Page(ws)
        page.call("Network.enable")
        page.call("Page.enable")
        try:
            yield page
        finally:
            ws.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def off_origin(requests: list[str], origin: str) -> list[str]:
    """Requests that leave `origin` ('http://127.0.0.1:8000' or 'file://')."""
    local = ("data:", "blob:", "about:", "chrome-error:", "chrome:")
    return [u for u in requests if not u.startswith(local) and not u.startswith(origin)]
