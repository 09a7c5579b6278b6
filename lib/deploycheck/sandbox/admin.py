"""The sandbox admin API: inspect requests and state, inject faults, reset.

GET /info          the sandbox's JSON line (URLs, credentials, environment)
GET /requests      [{service, method, path, status, time}, ...]
DELETE /requests   forget the request log
POST /faults       add a fault -> {"id": ...}  (see deploycheck.sandbox.faults)
GET /faults        the faults in force
DELETE /faults     remove every fault
GET /state         {"cloudflare": {...}, "github": {...}, "convex": {...}}, secrets decrypted
POST /rate-limits  switch on an emulated vendor rate limit (see deploycheck.sandbox.ratelimit):
                   {"service": "github", "limit": 80, "window_s": 3} -> the limit
GET /rate-limits   the limits in force, with how many requests each refused
DELETE /rate-limits  switch every limit off
POST /reset        every emulator back to its seed, faults, rate limits and request log cleared
POST /convex/documents  {"table": ..., "documents": [...]} -> {"ids": [...]}: store documents
                   in the Convex deployment (checked against its schema, as inserts are)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from deploycheck.sandbox.core import Emulator, Request, Response, json_response
from deploycheck.sandbox.faults import FaultRegistry
from deploycheck.sandbox.ratelimit import RateLimits
from deploycheck.sandbox.server import RequestLog

__all__ = ["AdminClient", "AdminEmulator"]

#: services whose stored values /state reports
STATE_SERVICES = ("cloudflare", "github", "convex")


class AdminEmulator:
    """Answers the admin API for one sandbox."""

    service = "admin"

    def __init__(
        self,
        *,
        info: Callable[[], dict[str, Any]],
        log: RequestLog,
        faults: FaultRegistry,
        emulators: Mapping[str, Emulator],
        reset: Callable[[], None],
        limits: RateLimits | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self._limits = limits or RateLimits()
        self._info = info
        self._log = log
        self._faults = faults
        self._emulators = emulators
        self._reset = reset

    def handle(self, request: Request) -> Response:  # noqa: PLR0911 - one return per route
        """Route one admin request."""
        route = (request.method, request.path.rstrip("/") or "/")
        if route == ("GET", "/info"):
            return json_response(200, self._info())
        if route == ("GET", "/requests"):
            return json_response(200, self._log.entries())
        if route == ("DELETE", "/requests"):
            self._log.clear()
            return json_response(200, {"cleared": True})
        if route == ("GET", "/faults"):
            return json_response(200, [f.as_dict() for f in self._faults.active()])
        if route == ("POST", "/faults"):
            return self._add_fault(request)
        if route == ("DELETE", "/faults"):
            self._faults.clear()
            return json_response(200, {"cleared": True})
        if route == ("POST", "/rate-limits"):
            return self._set_rate_limit(request)
        if route == ("GET", "/rate-limits"):
            return json_response(200, [limit.as_dict() for limit in self._limits.active()])
        if route == ("DELETE", "/rate-limits"):
            self._limits.clear()
            return json_response(200, {"cleared": True})
        if route == ("GET", "/state"):
            return json_response(200, self.snapshot())
        if route == ("POST", "/reset"):
            self._reset()
            return json_response(200, {"reset": True})
        if route == ("POST", "/convex/documents"):
            return self._seed_documents(request)
        known = (
            "GET /info, GET|DELETE /requests, GET|POST|DELETE /faults, GET|POST|DELETE /rate-limits, "
            "GET /state, POST /reset, "
            "POST /convex/documents"
        )
        return json_response(
            404, {"error": f"no admin route {request.method} {request.path}; routes: {known}"}
        )

    @staticmethod
    def _created(request: Request, create: Callable[[dict[str, Any]], dict[str, Any]]) -> Response:
        """201 with what ``create`` answers for the request's JSON object body; 400 saying why
        when the body is not one or ``create`` refuses it (ValueError)."""
        try:
            spec = request.json()
        except ValueError as exc:
            return json_response(400, {"error": f"body is not JSON: {exc}"})
        if not isinstance(spec, dict):
            return json_response(400, {"error": "body must be a JSON object"})
        try:
            answer = create(spec)
        except ValueError as exc:
            return json_response(400, {"error": str(exc)})
        return json_response(201, answer)

    def _add_fault(self, request: Request) -> Response:
        return self._created(request, lambda spec: {"id": self._faults.add(spec).id})

    def _set_rate_limit(self, request: Request) -> Response:
        return self._created(request, lambda spec: self._limits.set(spec).as_dict())

    def _seed_documents(self, request: Request) -> Response:
        try:
            body = request.json()
        except ValueError as exc:
            return json_response(400, {"error": f"body is not JSON: {exc}"})
        table = body.get("table") if isinstance(body, dict) else None
        documents = body.get("documents") if isinstance(body, dict) else None
        if not isinstance(table, str) or not isinstance(documents, list):
            return json_response(
                400, {"error": 'body must be {"table": "<name>", "documents": [{...}, ...]}'}
            )
        convex = self._emulators.get("convex")
        seed = getattr(convex, "seed_documents", None)
        if seed is None:
            return json_response(404, {"error": "this sandbox has no Convex deployment"})
        try:
            ids = seed(table, documents)
        except ValueError as exc:
            return json_response(400, {"error": str(exc)})
        return json_response(201, {"ids": ids})

    def snapshot(self) -> dict[str, Any]:
        """Every stored value of the platform emulators, keyed by service."""
        state: dict[str, Any] = {}
        for name in STATE_SERVICES:
            emulator = self._emulators.get(name)
            if emulator is not None:
                with emulator.lock:
                    state[name] = emulator.snapshot()
        return state

    def reset(self) -> None:
        """Nothing of its own: ``POST /reset`` resets the other emulators."""


class AdminClient:
    """A small client of a running sandbox's admin API (for tests, scripts and benchmarks).

    Example::

        admin = AdminClient(info.admin_url)
        admin.fault(service="cloudflare", path="/secrets", status=429, retry_after=1, count=1)
        assert admin.writes("cloudflare") == []
    """

    def __init__(self, admin_url: str, timeout: float = 10.0) -> None:
        import requests

        self.url = admin_url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = self._session.request(method, self.url + path, json=body, timeout=self.timeout)
        if response.status_code >= 400:
            msg = f"sandbox admin {method} {path} answered {response.status_code}: {response.text}"
            raise RuntimeError(msg)
        return response.json()

    def info(self) -> dict[str, Any]:
        """The sandbox's JSON line."""
        result: dict[str, Any] = self._call("GET", "/info")
        return result

    def requests(self, service: str | None = None) -> list[dict[str, Any]]:
        """Requests served since the last reset, oldest first, optionally of one service."""
        entries: list[dict[str, Any]] = self._call("GET", "/requests")
        return [e for e in entries if service is None or e["service"] == service]

    def writes(self, service: str | None = None) -> list[dict[str, Any]]:
        """The non-GET (and non-HEAD/OPTIONS) requests, optionally of one service."""
        return [e for e in self.requests(service) if e["method"] not in ("GET", "HEAD", "OPTIONS")]

    def clear_requests(self) -> None:
        """Forget the request log."""
        self._call("DELETE", "/requests")

    def fault(self, **spec: Any) -> str:
        """Inject a fault (keys as in :mod:`deploycheck.sandbox.faults`); returns its id."""
        return str(self._call("POST", "/faults", spec)["id"])

    def faults(self) -> list[dict[str, Any]]:
        """The faults in force."""
        result: list[dict[str, Any]] = self._call("GET", "/faults")
        return result

    def clear_faults(self) -> None:
        """Remove every fault."""
        self._call("DELETE", "/faults")

    def rate_limit(self, **spec: Any) -> dict[str, Any]:
        """Switch on an emulated rate limit (keys as in :mod:`deploycheck.sandbox.ratelimit`)."""
        result: dict[str, Any] = self._call("POST", "/rate-limits", spec)
        return result

    def rate_limits(self) -> list[dict[str, Any]]:
        """The rate limits in force, each with how many requests it refused."""
        result: list[dict[str, Any]] = self._call("GET", "/rate-limits")
        return result

    def clear_rate_limits(self) -> None:
        """Switch every emulated rate limit off."""
        self._call("DELETE", "/rate-limits")

    def state(self) -> dict[str, Any]:
        """Every stored value of cloudflare, github and convex, secrets decrypted."""
        result: dict[str, Any] = self._call("GET", "/state")
        return result

    def reset(self) -> None:
        """Every emulator back to its seed; faults and request log cleared."""
        self._call("POST", "/reset")

    def seed_convex_documents(self, table: str, documents: list[dict[str, Any]]) -> list[str]:
        """Store ``documents`` in the Convex deployment's ``table``; returns their ids."""
        result = self._call("POST", "/convex/documents", {"table": table, "documents": documents})
        return [str(i) for i in result["ids"]]
