"""The request and response types every sandbox emulator speaks, and the Emulator protocol.

Emulators are plain objects: the HTTP server (``deploycheck.sandbox.server``) parses a
request into :class:`Request`, applies injected faults, calls ``emulator.handle`` and
writes the :class:`Response`. Emulators never touch sockets, so they are unit-testable
and the server stays the one place that knows HTTP framing.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["Emulator", "Request", "Response", "json_response", "spec_problems"]


@dataclass
class Request:
    """One HTTP request as an emulator sees it.

    ``path`` has no query string and is not percent-decoded (vendors encode names);
    ``query`` maps each parameter to its values; ``headers`` keys are lower-case.
    """

    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str, default: str = "") -> str:
        """The header ``name`` (case-insensitive), or ``default``."""
        return self.headers.get(name.lower(), default)

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first value of query parameter ``name``, or ``default``."""
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        """The body parsed as JSON (raises ValueError when it is not JSON)."""
        return json.loads(self.body.decode("utf-8") or "null")


@dataclass
class Response:
    """One HTTP response; ``body`` of dict or list is sent as JSON.

    ``delay_s`` holds the answer back that long after the emulator's lock is released (a
    slow version of a split Worker slows its own requests only); ``log`` adds fields to the
    request-log entry (the Worker version that served it).
    """

    status: int = 200
    body: bytes | str | dict[str, Any] | list[Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    log: dict[str, Any] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, str]:
        """The body as bytes and its content type."""
        if self.body is None:
            return b"", self.headers.get("content-type", "application/json")
        if isinstance(self.body, bytes):
            return self.body, self.headers.get("content-type", "application/octet-stream")
        if isinstance(self.body, str):
            return self.body.encode("utf-8"), self.headers.get("content-type", "text/plain; charset=utf-8")
        return json.dumps(self.body).encode("utf-8"), "application/json"


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON response."""
    return Response(status=status, body=body, headers=dict(headers or {}))


def spec_problems(spec: Mapping[str, Any], known: Collection[str], services: Sequence[str]) -> list[str]:
    """The first problems of an admin-API JSON spec (a fault, a rate limit): keys not in
    ``known``, a ``service`` not among ``services``."""
    problems: list[str] = []
    unknown = sorted(set(spec) - set(known))
    if unknown:
        problems.append(f"unknown keys {unknown}; valid keys: {sorted(known)}")
    service = spec.get("service")
    if service not in services:
        problems.append(f"service must be one of {list(services)}, got {service!r}")
    return problems


class Emulator(Protocol):
    """One emulated service (``cloudflare``, ``github``, ``convex``, ``pages``, ``worker``)."""

    service: str
    lock: threading.RLock

    def handle(self, request: Request) -> Response:
        """Answer one request exactly as the vendor would."""
        ...

    def snapshot(self) -> dict[str, Any]:
        """Every value the service stores, secrets decrypted, for the admin ``/state``."""
        ...

    def reset(self) -> None:
        """Return to the seeded start state."""
        ...
