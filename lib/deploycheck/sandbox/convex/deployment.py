"""Emulator of one Convex deployment's HTTP API.

Speaks the Deployment API (``/api/v1/list_environment_variables``,
``update_environment_variables``, ``deployment_info``, ``list_audit_log_events``), the
health/identity routes (``/instance_name``, ``/version``, ``/``), ``check_admin_key``,
the system queries behind ``npx convex function-spec`` over ``POST /api/query``, and a
sandbox ``POST /api/push_config`` that stands in for ``npx convex deploy``.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable
from typing import Any

from deploycheck.sandbox.convex.env import SYSTEM_NAMES, ChangeError, apply_changes, parse_changes
from deploycheck.sandbox.convex.functions import (
    MAX_PUSH_MESSAGE_BYTES,
    SEED_MODULES,
    SEED_SCHEMA,
    Module,
    Push,
    function_spec,
    module_problem,
)
from deploycheck.sandbox.core import Request, Response, json_response

__all__ = ["ConvexEmulator"]

VERSION = "1.29.3"
RUNNING = "This Convex deployment is running. See https://docs.convex.dev/."
ALLOWED_OPS = [
    "ViewData",
    "WriteData",
    "Deploy",
    "ViewEnvironmentVariables",
    "WriteEnvironmentVariables",
    "ViewLogs",
    "ViewMetrics",
    "RunTestQuery",
    "ViewAuditLog",
]
_TYPE_PREFIXES = ("prod:", "dev:", "preview:", "custom:")
_AUDIT_DEFAULT_LIMIT = 15
_AUDIT_MAX_LIMIT = 100


def _error(status: int, code: str, message: str) -> Response:
    return json_response(status, {"code": code, "message": message})


def _strip_type(key: str) -> str:
    """The key without its ``prod:``-style type prefix, as the backend strips it."""
    for prefix in _TYPE_PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


class ConvexEmulator:
    """One Convex cloud deployment: env vars, function spec, pushes and audit log.

    Example::

        convex = ConvexEmulator("prod:prod-graceful-shrimp-355|secret", url="http://127.0.0.1:3210")
        convex.handle(Request("GET", "/api/v1/list_environment_variables",
                              headers={"authorization": "Convex prod:prod-graceful-shrimp-355|secret"}))
    """

    service = "convex"

    def __init__(
        self,
        deploy_key: str,
        deployment: str = "prod-graceful-shrimp-355",
        deployment_type: str = "prod",
        *,
        url: str | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.lock = threading.RLock()
        self.url = url
        self.deployment = deployment
        self.deployment_type = deployment_type
        self._admin_key = _strip_type(deploy_key)
        self._now = now
        self._variables: dict[str, str] = {}
        self._pushes: list[Push] = []
        self._audit: list[dict[str, Any]] = []
        self._routes: dict[str, dict[str, Callable[[Request], Response]]] = {
            "/": {"GET": lambda r: Response(200, RUNNING)},
            "/instance_name": {"GET": lambda r: Response(200, self.deployment)},
            "/instance_version": {"GET": lambda r: Response(200, VERSION)},
            "/version": {"GET": lambda r: Response(200, VERSION)},
            "/api/check_admin_key": {"GET": self._check_admin_key},
            "/api/v1/deployment_info": {"GET": self._deployment_info},
            "/api/v1/list_environment_variables": {"GET": self._list_variables},
            "/api/list_environment_variables": {"GET": self._list_variables},
            "/api/v1/update_environment_variables": {"POST": self._update_variables},
            "/api/update_environment_variables": {"POST": self._update_variables},
            "/api/v1/list_audit_log_events": {"GET": self._audit_log},
            "/api/query": {"POST": self._query},
            "/api/push_config": {"POST": self._push_config},
        }
        self.reset()

    # -- Emulator protocol -------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Answer one request as the deployment at ``https://<name>.convex.cloud`` would."""
        methods = self._routes.get(request.path.rstrip("/") or "/")
        if methods is None:
            return _error(404, "NotFound", f"No route for {request.path}")
        handler = methods.get(request.method.upper())
        if handler is None:
            return Response(405, "Method Not Allowed", {"allow": ", ".join(methods)})
        with self.lock:
            return handler(request)

    def snapshot(self) -> dict[str, Any]:
        """Env vars, pushes and the function spec of the deployment."""
        with self.lock:
            latest = self._pushes[-1] if self._pushes else None
            state = {
                "environment_variables": dict(sorted(self._variables.items())),
                "pushes": [push.summary() for push in self._pushes],
                "functions": list(latest.functions) if latest else [],
                "last_push_time": latest.pushed_at if latest else None,
            }
            return {"deployments": {self.deployment: state}}

    def reset(self) -> None:
        """Back to the seed: no env vars, one push of the reference app's modules."""
        with self.lock:
            self._variables = {}
            self._pushes = []
            self._audit = []
            self._record_push(SEED_MODULES, SEED_SCHEMA, "Initial deploy")

    # -- authentication -----------------------------------------------------------------------

    def _deny(self, request: Request) -> Response | None:
        """``None`` for a valid admin key, else the backend's error response."""
        header = request.header("authorization")
        if header:
            if len(header) < 7:
                return _error(400, "InvalidHeaderFailure", "Invalid authentication header")
            if header[:7].lower() != "convex ":
                return self._bad_deploy_key()
            key = header[7:]
        else:
            query_key = request.arg("adminKey")
            if query_key is None:
                return self._bad_deploy_key()
            key = query_key
        # "<key>:<acting user>" impersonates a user; the admin key is the part before ':'
        presented = _strip_type(key.strip()).split(":", 1)[0]
        if hmac.compare_digest(presented.encode(), self._admin_key.encode()):
            return None
        return _error(401, "BadAdminKey", "The provided admin key was invalid for this instance")

    def _bad_deploy_key(self) -> Response:
        message = (
            f"The provided deploy key was invalid for deployment '{self.deployment}'. Double check that "
            "the environment this key was generated for matches the desired deployment."
        )
        return _error(403, "BadDeployKey", message)

    # -- handlers -----------------------------------------------------------------------------

    def _check_admin_key(self, request: Request) -> Response:
        denied = self._deny(request)
        return denied or json_response(200, {"success": True, "allowedOps": ALLOWED_OPS, "isReadOnly": False})

    def _deployment_info(self, request: Request) -> Response:
        denied = self._deny(request)
        if denied:
            return denied
        info = {
            "kind": "cloud",
            "deploymentType": self.deployment_type,
            "teamId": 41_001,
            "projectId": 52_002,
            "projectName": "app",
            "projectSlug": "app",
            "id": 63_003,
            "reference": self.deployment,
            "lastPushTime": self._pushes[-1].pushed_at if self._pushes else None,
        }
        return json_response(200, info)

    def _list_variables(self, request: Request) -> Response:
        denied = self._deny(request)
        return denied or json_response(200, {"environmentVariables": dict(sorted(self._variables.items()))})

    def _update_variables(self, request: Request) -> Response:
        denied = self._deny(request)
        if denied:
            return denied
        try:
            changes = parse_changes(_body(request))
            updated = apply_changes(self._variables, changes)
        except ChangeError as exc:
            return _error(400, exc.code, exc.message)
        before, self._variables = self._variables, updated
        for change in sorted(changes, key=lambda c: c.name):
            if change.value is None and change.name in before:
                action = "delete_environment_variable"
            elif change.value is not None and change.name not in before:
                action = "create_environment_variable"
            elif change.value is not None and before[change.name] != change.value:
                action = "update_environment_variable"
            else:
                continue
            self._log(action, {"variable_name": change.name})
        return Response(200, b"", {"content-type": "application/json"})

    def _audit_log(self, request: Request) -> Response:
        denied = self._deny(request)
        if denied:
            return denied
        start, limit, cursor = request.arg("from"), request.arg("limit"), request.arg("cursor")
        if start is None or not start.isdigit():
            message = "Failed to deserialize query string: missing or invalid field `from`"
            return _error(400, "BadQueryArgs", message)
        if limit is not None and not limit.isdigit():
            return _error(400, "BadQueryArgs", "Failed to deserialize query string: limit: invalid digit")
        size = min(int(limit) if limit else _AUDIT_DEFAULT_LIMIT, _AUDIT_MAX_LIMIT)
        events = [e for e in self._audit if e["createTime"] >= int(start)]
        offset = 0
        if cursor:
            if not cursor.isdigit() or int(cursor) > len(events):
                return _error(400, "InvalidCursor", f"Invalid cursor {cursor!r}")
            offset = int(cursor)
        page = events[offset : offset + size]
        more = offset + size < len(events)
        pagination = {"hasMore": more, "nextCursor": str(offset + size) if more else None}
        return json_response(200, {"items": page, "pagination": pagination})

    def _query(self, request: Request) -> Response:
        try:
            body = _body(request)
        except ChangeError as exc:
            return _error(400, exc.code, exc.message)
        if not isinstance(body, dict) or not isinstance(body.get("path"), str):
            return _error(400, "BadJsonBody", "Failed to deserialize the JSON body: missing field `path`")
        path = body["path"].replace(".js:", ":")
        if path.startswith("_system/"):
            denied = self._deny(request)
            if denied:
                return denied
        args = body.get("args") or [{}]
        try:
            value = self._system_query(path, args[0] if isinstance(args, list) and args else {}, request)
        except _QueryError as exc:
            return json_response(200, {"status": "error", "errorMessage": str(exc), "logLines": []})
        return json_response(200, {"status": "success", "value": value, "logLines": []})

    def _system_query(self, path: str, args: Any, request: Request) -> Any:
        cloud_url = self._cloud_url(request)
        builtins = {
            "CONVEX_CLOUD_URL": cloud_url,
            "CONVEX_SITE_URL": f"https://{self.deployment}.convex.site",
        }
        if path == "_system/cli/modules:apiSpec":
            return list(self._pushes[-1].functions) if self._pushes else []
        if path == "_system/cli/convexUrl:cloudUrl":
            return cloud_url
        if path in ("_system/cli/queryEnvironmentVariables", "_system/cli/queryEnvironmentVariables:default"):
            return [{"name": n, "value": v} for n, v in sorted(self._variables.items())]
        if path == "_system/cli/queryEnvironmentVariables:get":
            name = args.get("name") if isinstance(args, dict) else None
            if not isinstance(name, str):
                raise _QueryError("ArgumentValidationError: Object is missing the required field `name`.")
            value = builtins[name] if name in SYSTEM_NAMES else self._variables.get(name)
            return {"name": name, "value": value} if value is not None else None
        known = {
            f["identifier"].replace(".js:", ":") for f in self._pushes[-1].functions if "identifier" in f
        }
        if path in known:
            msg = f"The sandbox deployment does not execute function code ({path})."
            raise _QueryError(msg)
        msg = (
            f"Could not find public function for '{path}'. "
            "Did you forget to run `npx convex dev` or `npx convex deploy`?"
        )
        raise _QueryError(msg)

    def _cloud_url(self, request: Request) -> str:
        """The deployment URL: as configured, else as the client reached it."""
        if self.url:
            return self.url.rstrip("/")
        host = request.header("host")
        return f"http://{host}" if host else f"https://{self.deployment}.convex.cloud"

    def _push_config(self, request: Request) -> Response:
        denied = self._deny(request)
        if denied:
            return denied
        try:
            body = _body(request)
            modules, schema, message = _parse_push(body)
        except ChangeError as exc:
            return _error(400, exc.code, exc.message)
        if body.get("dryRun") is True:
            return json_response(
                200, {"pushedAt": None, "functions": len(function_spec(modules)), "dryRun": True}
            )
        push = self._record_push(modules, schema, message)
        return json_response(200, {"pushedAt": push.pushed_at, "functions": len(push.functions)})

    # -- state --------------------------------------------------------------------------------

    def _record_push(self, modules: tuple[Module, ...], schema: str | None, message: str | None) -> Push:
        pushed_at = int(self._now() * 1000)
        if self._pushes:
            # two pushes within one millisecond must still be told apart by time
            pushed_at = max(pushed_at, self._pushes[-1].pushed_at + 1)
        push = Push(pushed_at, message, schema, modules, function_spec(modules))
        self._pushes.append(push)
        self._log("push_config", {"message": message}, at=pushed_at)
        return push

    def _log(self, action: str, metadata: dict[str, Any], at: int | None = None) -> None:
        self._audit.append(
            {
                "actor": {"kind": "token", "member_id": None, "token_id": 1, "client_id": None},
                "action": action,
                "createTime": at if at is not None else int(self._now() * 1000),
                "metadata": metadata,
                "clientIp": "127.0.0.1",
                "clientUserAgent": None,
            }
        )


def _body(request: Request) -> Any:
    """The JSON body; raises ChangeError ``BadJsonBody`` when it is not JSON."""
    try:
        return request.json()
    except ValueError as exc:
        raise ChangeError("BadJsonBody", f"Failed to parse the JSON body: {exc}") from exc


class _QueryError(Exception):
    """A function call that fails; the message becomes ``errorMessage``."""


def _parse_push(body: Any) -> tuple[tuple[Module, ...], str | None, str | None]:
    """Modules, schema and message of a push body; raises ChangeError when malformed."""
    if not isinstance(body, dict) or not isinstance(body.get("modules"), list):
        raise ChangeError("BadJsonBody", "Failed to deserialize the JSON body: missing field `modules`")
    modules = []
    for item in body["modules"]:
        if not (
            isinstance(item, dict)
            and isinstance(item.get("path"), str)
            and isinstance(item.get("source"), str)
        ):
            raise ChangeError("BadJsonBody", "Each module needs a string `path` and `source`")
        problem = module_problem(item["path"])
        if problem:
            raise ChangeError("InvalidModulePath", problem)
        modules.append(Module(item["path"], item["source"]))
    schema, message = body.get("schema"), body.get("message")
    for field, value in (("schema", schema), ("message", message)):
        if value is not None and not isinstance(value, str):
            raise ChangeError("BadJsonBody", f"`{field}` must be a string or null")
    if message is not None and len(message.encode("utf-8")) > MAX_PUSH_MESSAGE_BYTES:
        raise ChangeError(
            "PushMessageTooLong", f"Push messages are limited to {MAX_PUSH_MESSAGE_BYTES} bytes."
        )
    return tuple(modules), schema, message
