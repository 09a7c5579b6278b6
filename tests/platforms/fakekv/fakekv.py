"""A platform added from outside deploycheck: a key-value store with its own HTTP emulator.

It is what a separate package (a Vercel or Netlify adapter, say) would ship: an adapter
meeting ``deploycheck.platforms.base.ConfigPlatform``, a ``SPEC`` declaring its facts,
and an entry point in the ``deploycheck.platforms`` group naming ``fakekv:SPEC``.
The store keeps variables per namespace: ``GET /ns/<name>`` lists them,
``PATCH /ns/<name>`` applies ``{"set": {...}, "unset": [...]}`` in one request.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from deploycheck.errors import ConfigError, Problem
from deploycheck.http import HttpClient, HttpSettings
from deploycheck.platforms import Limits, OpenRequest, PlatformSpec
from deploycheck.platforms.base import ApplyResult, ConfigState, RemoteVar, VarChange

__all__ = ["SPEC", "FakeKvPlatform", "FakeKvServer"]


class FakeKvPlatform:
    """One namespace of the store (ConfigPlatform)."""

    platform = "fake-kv"

    def __init__(self, client: HttpClient, namespace: str, plain_names: Sequence[str] = ()) -> None:
        self.client = client
        self.resource = namespace
        self.plain_names = frozenset(plain_names)

    def read_config(self) -> ConfigState:
        """Every variable of the namespace, in one request."""
        body = self.client.request("GET", f"/ns/{self.resource}", operation="list variables").json()
        found = {
            name: RemoteVar(name, str(value), secret=name not in self.plain_names) for name, value in body.items()
        }
        return ConfigState(self.platform, self.resource, found, requests=1)

    def apply_config(self, changes: Sequence[VarChange]) -> ApplyResult:
        """Apply every change in one PATCH."""
        payload = {
            "set": {c.name: c.value for c in changes if c.action != "remove"},
            "unset": [c.name for c in changes if c.action == "remove"],
        }
        self.client.request("PATCH", f"/ns/{self.resource}", json=payload, operation="update variables")
        return ApplyResult(applied=tuple(c.name for c in changes))


def _open(request: OpenRequest) -> FakeKvPlatform:
    url = request.environ.get("FAKEKV_URL", "")
    if not url:
        problem = Problem(source="environment", path="FAKEKV_URL", message="FAKEKV_URL is not set.")
        raise ConfigError([problem], title="missing platform credentials")
    client = HttpClient(
        platform="fake-kv",
        base_url=url,
        base_url_variable="FAKEKV_URL",
        headers={},
        settings=HttpSettings.from_environ(request.environ),
    )
    return FakeKvPlatform(client, request.require("namespace"), request.plain_names)


SPEC = PlatformSpec(
    name="fake-kv",
    label="Fake KV",
    short_label="KV",
    aliases=("kv",),
    factory=_open,
    resource_key="namespace",
    limits=Limits(max_value_bytes=64),
    console=lambda params, environ: ("Fake KV console", f"https://kv.example/{params.get('namespace', '')}"),
    params={"namespace": {"type": "string", "description": "fake-kv: the namespace"}},
)


class _Handler(BaseHTTPRequestHandler):
    server: FakeKvServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        """List a namespace."""
        self.server.requests.append(("GET", self.path))
        self._send(200, self.server.namespace(self.path.removeprefix("/ns/")))

    def do_PATCH(self) -> None:
        """Set and unset variables of a namespace."""
        self.server.requests.append(("PATCH", self.path))
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        space = self.server.namespace(self.path.removeprefix("/ns/"))
        with self.server.lock:
            space.update(body.get("set") or {})
            for name in body.get("unset") or []:
                space.pop(name, None)
        self._send(200, space)


class FakeKvServer(ThreadingHTTPServer):
    """The store's emulator on 127.0.0.1 (a free port), run in a daemon thread."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.spaces: dict[str, dict[str, str]] = {}
        self.requests: list[tuple[str, str]] = []
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The base URL clients use."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def namespace(self, name: str) -> dict[str, str]:
        """The variables of ``name`` (created empty)."""
        with self.lock:
            return self.spaces.setdefault(name, {})

    def values(self, name: str) -> Mapping[str, str]:
        """A copy of what ``name`` holds."""
        return dict(self.namespace(name))
