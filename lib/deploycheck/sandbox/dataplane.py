"""The data plane: the Pages site and the log-ingestion Worker as browsers reach them.

Both read the Cloudflare emulator's state, so a Pages rollback switches the served
page and a Worker deployment switches the version ``/health`` reports. During a gradual
deployment each Worker request is served by one of the deployment's versions, drawn by
their percentages (``Cloudflare-Workers-Version-Overrides: <script>="<version id>"`` pins
one, as on Cloudflare); the answer names it in the ``x-deploycheck-worker-version`` header
and, for ``/health``, as ``version`` (the example Worker's ``CF_VERSION_METADATA.id``), and the
request log records it (``version``, ``pinned``). Draws and version faults: :mod:`.split`.
"""

from __future__ import annotations

import collections
import mimetypes
import re
import threading
import time
import urllib.parse
import uuid
from typing import Any

from deploycheck.sandbox.cloudflare import CloudflareEmulator, WorkerVersion
from deploycheck.sandbox.core import Request, Response, json_response
from deploycheck.sandbox.faults import FaultRegistry
from deploycheck.sandbox.split import TrafficSplitter, apply_version_fault

__all__ = ["PagesSiteEmulator", "WorkerEmulator"]

PAGES_PROJECT = "app-web"
WORKER_SCRIPT = "log-ingestion"
#: accepted logs per origin per minute before the rate limiter answers 429
RATE_LIMIT = 60
RATE_WINDOW_S = 60.0
LOG_KEEP = 200
#: the response header naming the Worker version that answered
VERSION_HEADER = "x-deploycheck-worker-version"
_OVERRIDE = re.compile(r'\s*([^=,\s]+)\s*=\s*"([^"]*)"\s*')


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class PagesSiteEmulator:
    """Serves the Pages project: the canonical production deployment, or an alias by ``Host``.

    ``Host: <branch>.<project>.pages.dev`` serves the newest successful deployment of that
    branch (its branch alias, lowercased with other characters as ``-``), and
    ``Host: <short id>.<project>.pages.dev`` that one deployment, as on Cloudflare.
    """

    service = "pages"

    def __init__(self, cloudflare: CloudflareEmulator, project: str = PAGES_PROJECT) -> None:
        self.lock = cloudflare.lock
        self.cloudflare = cloudflare
        self.project = project

    def handle(self, request: Request) -> Response:
        """Serve a file of the active deployment (single-page fallback to ``/index.html``)."""
        if request.method not in ("GET", "HEAD"):
            return Response(status=405, body="Method Not Allowed\n", headers={"allow": "GET, HEAD"})
        project = self.cloudflare.projects.get(self.project)
        if project is None:
            return Response(status=404, body="No production deployment\n")
        host = request.header("host").split(":")[0].lower()
        suffix = "." + project.subdomain
        if host.endswith(suffix):
            deployment = project.aliased(host[: -len(suffix)])
            if deployment is None:
                return Response(status=404, body=f"No deployment is aliased {host}\n")
        else:
            deployment = project.canonical
        if deployment is None:
            return Response(status=404, body="No production deployment\n")
        path = urllib.parse.unquote(request.path)
        candidates = [path, path.rstrip("/") + "/index.html", path + ".html"]
        name = next((c for c in candidates if c in deployment.files), None)
        status = 200
        if name is None:
            if "/404.html" in deployment.files:
                name, status = "/404.html", 404
            elif "/index.html" in deployment.files:
                name = "/index.html"
            else:
                return Response(status=404, body="Not Found\n")
        content = deployment.files[name]
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if content_type == "text/html":
            content = _mark_deployment(content, deployment.id)
            content_type = "text/html; charset=utf-8"
        headers = {
            "content-type": content_type,
            "cf-ray": uuid.uuid4().hex[:16] + "-SBX",
            "server": "cloudflare",
        }
        return Response(status=status, body=content, headers=headers)

    def snapshot(self) -> dict[str, Any]:
        """Nothing of its own: the site is the Cloudflare state."""
        return {}

    def reset(self) -> None:
        """Nothing of its own to reset."""


def _mark_deployment(html: bytes, deployment_id: str) -> bytes:
    """Add the deployment marker ``<meta name="deploycheck-deployment">`` unless present."""
    if b'name="deploycheck-deployment"' in html:
        return html
    meta = f'<meta name="deploycheck-deployment" content="{deployment_id}">'.encode()
    lower = html.lower()
    index = lower.find(b"<head>")
    if index >= 0:
        cut = index + len(b"<head>")
        return html[:cut] + b"\n" + meta + html[cut:]
    return meta + b"\n" + html


class WorkerEmulator:
    """The log-ingestion Worker: ``/health``, ``POST /logs`` with CORS and rate limiting."""

    service = "worker"

    def __init__(
        self,
        cloudflare: CloudflareEmulator,
        *,
        faults: FaultRegistry,
        allowed_origins: list[str],
        script: str = WORKER_SCRIPT,
    ) -> None:
        self.lock = threading.RLock()
        self.cloudflare = cloudflare
        self.faults = faults
        self.default_origins = [_origin(o) for o in allowed_origins]
        self.script = script
        self.logs: collections.deque[dict[str, Any]] = collections.deque(maxlen=LOG_KEEP)
        self.windows: dict[str, collections.deque[float]] = {}
        self._draws = TrafficSplitter()

    def reset(self) -> None:
        """Forget accepted logs and rate-limit windows."""
        with self.lock:
            self.logs.clear()
            self.windows.clear()
            self._draws.reset()

    def snapshot(self) -> dict[str, Any]:
        """The accepted logs."""
        with self.lock:
            return {"logs": list(self.logs)}

    def handle(self, request: Request) -> Response:
        """Route one request to the version of the Worker that serves it."""
        override = self._override(request)
        with self.cloudflare.lock:
            script = self.cloudflare.scripts.get(self.script)
            pinned = False
            version = None
            if script is not None:
                deployment = script.current_deployment
                served = {str(v["version_id"]) for v in deployment.versions} if deployment else set()
                pinned = override in served
                version = script.serving_version(0.0 if pinned else self._draws.draw(), override)
        response = self._route(request, version)
        if version is not None:
            fault = self.faults.take_version(self.service, request.method, request.path, version.id)
            if fault is not None:
                response = apply_version_fault(fault, response)
            response.headers[VERSION_HEADER] = version.id
            response.log = {"version": version.id, "pinned": pinned}
        return response

    def _override(self, request: Request) -> str | None:
        """The version id ``Cloudflare-Workers-Version-Overrides`` pins for this script, if any."""
        for match in _OVERRIDE.finditer(request.header("cloudflare-workers-version-overrides")):
            if match.group(1) == self.script:
                return match.group(2)
        return None

    def _route(self, request: Request, version: WorkerVersion | None) -> Response:
        path = request.path.rstrip("/") or "/"
        if path == "/health" and request.method in ("GET", "HEAD"):
            return self._health(version)
        if path == "/logs/clear" and request.method == "DELETE":
            return self._clear_logs()
        if path == "/logs":
            return self._logs(request, version)
        return json_response(404, {"error": f"no route {request.method} {request.path}"})

    def _logs(self, request: Request, version: WorkerVersion | None) -> Response:
        if request.method == "OPTIONS":
            return self._preflight(request, version)
        if request.method == "POST":
            return self._ingest(request, version)
        if request.method == "GET":
            with self.lock:
                return json_response(200, {"logs": list(self.logs)[-50:]})
        return json_response(405, {"error": "method not allowed"}, {"allow": "GET, POST, OPTIONS"})

    def _clear_logs(self) -> Response:
        """``DELETE /logs/clear``: the seed's cleanup after a rollback; the stored logs go."""
        with self.lock:
            cleared = len(self.logs)
            self.logs.clear()
        return json_response(200, {"cleared": cleared})

    def allowed_origins(self, version: WorkerVersion | None) -> set[str]:
        """The default origins plus those of the version's ``ALLOWED_ORIGINS`` plain var, if set."""
        origins = set(self.default_origins)
        extra = version.vars().get("ALLOWED_ORIGINS") if version else None
        if isinstance(extra, str):
            origins.update(o.strip().rstrip("/") for o in extra.split(",") if o.strip())
        return origins

    def _rate_limit(self, version: WorkerVersion | None) -> int:
        """Logs per origin per minute: the version's ``RATE_LIMIT_PER_MINUTE`` var if set, else 60."""
        value = version.vars().get("RATE_LIMIT_PER_MINUTE") if version else None
        try:
            return max(1, int(str(value))) if value is not None else RATE_LIMIT
        except ValueError:
            return RATE_LIMIT

    def _health(self, version: WorkerVersion | None) -> Response:
        with self.cloudflare.lock:
            script = self.cloudflare.scripts.get(self.script)
            if script is None or version is None:
                return json_response(404, {"error": f"script {self.script} is not deployed"})
            state, expected = script.state_version, version.expected_state_version
        injected = self.faults.health(version.id)
        status = injected or "healthy"
        checks = {"durable_object": "ok" if state == expected else "state_ahead", "redis": "ok"}
        reason: str | None = None
        if state > expected:
            reason = (
                f"Durable Object state version {state} is newer than this code expects ({expected}): "
                "the code was rolled back past a state migration"
            )
        elif state < expected:
            checks["durable_object"] = "migration_pending"
            reason = f"Durable Object state version {state} is older than this code expects ({expected})"
        if injected == "degraded":
            checks["redis"] = "slow"
            reason = "redis answered slowly (injected fault)"
        elif injected == "unhealthy":
            checks["redis"] = "error"
            reason = "redis is unreachable (injected fault)"
        body = {
            "status": status,
            "version": version.id,
            "state_version": state,
            "expected_state_version": expected,
            "reason": reason,
            "checks": checks,
        }
        return json_response(503 if status == "unhealthy" else 200, body)

    def _cors(self, origin: str) -> dict[str, str]:
        return {"access-control-allow-origin": origin, "vary": "Origin"}

    def _preflight(self, request: Request, version: WorkerVersion | None) -> Response:
        origin = request.header("origin")
        if not origin or origin.rstrip("/") not in self.allowed_origins(version):
            return json_response(403, {"error": f"origin {origin or '(none)'} is not allowed"})
        headers = self._cors(origin)
        headers.update(
            {
                "access-control-allow-methods": "POST, OPTIONS",
                "access-control-allow-headers": "Content-Type",
                "access-control-max-age": "86400",
            }
        )
        return Response(status=204, body=None, headers=headers)

    def _ingest(self, request: Request, version: WorkerVersion | None) -> Response:
        origin = request.header("origin")
        if origin and origin.rstrip("/") not in self.allowed_origins(version):
            return json_response(403, {"error": f"origin {origin} is not allowed"})
        headers = self._cors(origin) if origin else {}
        try:
            log = request.json()
        except (ValueError, UnicodeDecodeError):
            return json_response(400, {"error": "body must be JSON"}, headers)
        if (
            not isinstance(log, dict)
            or not isinstance(log.get("level"), str)
            or not isinstance(log.get("message"), str)
        ):
            return json_response(400, {"error": "a log needs string 'level' and 'message'"}, headers)
        with self.lock:
            window = self.windows.setdefault(origin or "(none)", collections.deque())
            moment = time.monotonic()
            while window and moment - window[0] >= RATE_WINDOW_S:
                window.popleft()
            limit = self._rate_limit(version)
            if len(window) >= limit:
                retry = max(1, int(RATE_WINDOW_S - (moment - window[0])) + 1)
                headers["retry-after"] = str(retry)
                return json_response(429, {"error": "rate limited", "retry_after": retry}, headers)
            window.append(moment)
            entry = {"accepted": True, "id": str(uuid.uuid4()), "log": log}
            self.logs.append({"id": entry["id"], "origin": origin or None, "log": log, "time": time.time()})
        return json_response(202, entry, headers)
