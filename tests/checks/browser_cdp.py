"""A small Chrome DevTools Protocol client over websockets: open a page, evaluate, screenshot.

Drives Debian's ``chromium`` (``/usr/bin/chromium``) headless with a fresh profile and
records what a reader's browser would show as problems: console errors, uncaught
exceptions and every network request the page makes.
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--remote-debugging-port=0", "--remote-allow-origins=*",
)  # fmt: skip


def find_chromium() -> str | None:
    """The path of the system chromium, or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class Page:
    """One page of a running browser, with the problems it reported so far."""

    ws: Any
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    _id: int = 0

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Call a CDP method and return its result (events that arrive meanwhile are recorded)."""
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=30))
            if message.get("id") == self._id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))
            self._event(message)

    def _event(self, message: dict[str, Any]) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.exceptionThrown":
            self.console_errors.append(json.dumps(params.get("exceptionDetails", {}))[:500])
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.console_errors.append(json.dumps(params.get("args", []))[:500])
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            self.console_errors.append(params["entry"].get("text", ""))
        elif method == "Network.requestWillBeSent":
            self.requests.append(params.get("request", {}).get("url", ""))

    def drain(self, seconds: float) -> None:
        """Record the events of the next ``seconds``."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            try:
                self._event(json.loads(self.ws.recv(timeout=left)))
            except TimeoutError:
                return

    def open(self, url: str) -> None:
        """Navigate and wait for the load event."""
        self.send("Page.navigate", url=url)
        end = time.monotonic() + 30
        while time.monotonic() < end:
            if self.evaluate("document.readyState") == "complete":
                self.drain(0.3)
                return
            time.sleep(0.1)
        raise TimeoutError(f"{url} did not load")

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression on the page."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path, *, height: int | None = None) -> Path:
        """Save a PNG of the page (its whole height, or the top ``height`` pixels)."""
        size = self.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
        width, full = max(1280, int(size[0])), min(int(size[1]), 12000)
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=full, deviceScaleFactor=1,
                  mobile=False)  # fmt: skip
        clip = {"x": 0, "y": 0, "width": width, "height": height or full, "scale": 1}
        data = self.send("Page.captureScreenshot", format="png", clip=clip, captureBeyondViewport=True)[
            "data"
        ]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path


class Browser:
    """A headless chromium with a fresh profile; ``new_page()`` opens a page with events enabled."""

    def __init__(self, executable: str) -> None:
        self.profile = tempfile.TemporaryDirectory(prefix="deploycheck-chromium-")
        self.process = subprocess.Popen(
            [executable, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile.name}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        port_file = Path(self.profile.name) / "DevToolsActivePort"
        end = time.monotonic() + 30
        while not port_file.is_file() or not port_file.read_text().strip():
            if time.monotonic() > end or self.process.poll() is not None:
                self.close()
                raise RuntimeError("chromium did not start its DevTools endpoint")
            time.sleep(0.1)
        self.port = int(port_file.read_text().split()[0])
        self._stack = contextlib.ExitStack()

    def new_page(self) -> Page:
        """A new tab with Page, Runtime, Log and Network events on."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/json/new?about:blank", method="PUT")
        with urllib.request.urlopen(request, timeout=10) as answer:  # loopback DevTools endpoint
            target = json.loads(answer.read())
        ws = self._stack.enter_context(connect(target["webSocketDebuggerUrl"], max_size=64 * 1024 * 1024))
        page = Page(ws)
        for domain in ("Page", "Runtime", "Log", "Network"):
            page.send(f"{domain}.enable")
        return page

    def close(self) -> None:
        """Close the pages, stop chromium, remove the profile."""
        self._stack.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.profile.cleanup()
