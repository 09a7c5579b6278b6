"""Emulator of one Convex deployment's HTTP API.

Speaks the Deployment API (``/api/v1/list_environment_variables``,
``update_environment_variables``, ``deployment_info``, ``list_audit_log_events``), the
health/identity routes (``/instance_name``, ``/version``, ``/``), ``check_admin_key``,
the WebSocket sync protocol at ``/api/<client version>/sync`` (:mod:`.convex_sync`:
the system queries behind ``npx convex env list``/``env get``/``function-spec``), the
same queries over ``POST /api/query``, the ``npx convex deploy`` push flow
(``get_config_hashes`` and ``/api/deploy2/*``, :mod:`.convex_push`, with schema
validation of the stored documents, :mod:`.convex_schema`), and the older sandbox
``POST /api/push_config`` that ``deploycheck sandbox upload convex`` uses. Every push
that can change the schema checks the stored documents against it first, with the one
check of :func:`~deploycheck.sandbox.convex.schema.schema_failure`, and is refused with
the backend's message when one does not match.
"""

from __future__ import annotations

import hmac
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from deploycheck.sandbox.convex.deploy2 import Deploy2Routes
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
from deploycheck.sandbox.convex.push import PendingPush, PushError, analyze_modules
from deploycheck.sandbox.convex.schema import schema_failure
from deploycheck.sandbox.convex.sync import FunctionFailure, SyncSession, client_version_problem
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
_SYNC_PATH_RE = re.compile(r"^/api/([^/]+)/sync/?$")
_UDF_TYPES = {"query": "Query", "mutation": "Mutation", "action": "Action"}


def _error(status: int, code: str, message: str) -> Response:
    return json_response(status, {"code": code, "message": message})


def _strip_type(key: str) -> str:
    """The key without its ``prod:``-style type prefix, as the backend strips it."""
    for prefix in _TYPE_PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


class ConvexEmulator(Deploy2Routes):
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
        self._changes = 0
        self._pending: dict[str, PendingPush] = {}
        self._documents: dict[str, list[dict[str, Any]]] = {}
        self._id_tables: dict[str, str] = {}
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
            "/api/get_config_hashes": {"POST": self._config_hashes},
            "/api/deploy2/start_push": {"POST": self._start_push},
            "/api/deploy2/evaluate_push": {"POST": self._evaluate_push},
            "/api/deploy2/wait_for_schema": {"POST": self._wait_for_schema},
            "/api/deploy2/finish_push": {"POST": self._finish_push},
            "/api/deploy2/report_push_completed": {"POST": self._report_push_completed},
        }
        self.reset()

    # -- Emulator protocol -------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Answer one request as the deployment at ``https://<name>.convex.cloud`` would."""
        methods = self._routes.get(request.path.rstrip("/") or "/")
        if methods is None and _SYNC_PATH_RE.match(request.path):
            # axum's WebSocketUpgrade rejection for a plain GET
            message = "Connection header did not include 'upgrade'"
            return Response(400, message, {"content-type": "text/plain"})
        if methods is None:
            return _error(404, "NotFound", f"No route for {request.path}")
        handler = methods.get(request.method.upper())
        if handler is None:
            return Response(405, "Method Not Allowed", {"allow": ", ".join(methods)})
        with self.lock:
            return handler(request)

    def open_session(self, request: Request) -> SyncSession | Response:
        """A sync-protocol session for a WebSocket upgrade of ``/api/<version>/sync``."""
        match = _SYNC_PATH_RE.match(request.path)
        if match is None:
            return _error(404, "NotFound", f"No route for {request.path}")
        problem = client_version_problem(match.group(1))
        if problem is not None:
            return _error(400, *problem)
        host = request.header("host")
        origin = f"http://{host}" if host else f"https://{self.deployment}.convex.cloud"
        return SyncSession(self, client_version=match.group(1), origin=origin)

    # -- SyncBackend ----------------------------------------------------------------------------

    def sync_changes(self) -> int:
        """Grows with every change a query could observe (env vars, pushes, documents)."""
        return self._changes

    def admin_key_valid(self, key: str) -> bool:
        """Whether ``key`` is this deployment's admin key (``<key>:<acting user>`` allowed)."""
        presented = _strip_type(key.strip()).split(":", 1)[0]
        return hmac.compare_digest(presented.encode(), self._admin_key.encode())

    def run_function(self, kind: str, path: str, args: Any, *, admin: bool, origin: str) -> Any:
        """Run a function the way the backend's sync worker does (system functions, admin only)."""
        path = path.replace(".js:", ":")
        if path.endswith(".js"):
            path = path[: -len(".js")]
        missing = f"Could not find public function for '{path}'."
        if path.startswith("_system/"):
            if not admin or kind != "query":
                raise FunctionFailure(missing)
            try:
                return self._system_query(path, args, origin)
            except _QueryError as exc:
                raise FunctionFailure(str(exc)) from None
        functions = {
            f["identifier"].replace(".js:", ":"): f
            for f in (self._pushes[-1].functions if self._pushes else [])
            if "identifier" in f
        }
        function = functions.get(path if ":" in path else f"{path}:default")
        if function is None or (function["visibility"]["kind"] != "public" and not admin):
            raise FunctionFailure(missing)
        if function["functionType"] != _UDF_TYPES.get(kind):
            message = (
                f"Trying to execute {path} as {_UDF_TYPES.get(kind, kind)}, "
                f"but it is defined as {function['functionType']}."
            )
            raise FunctionFailure(message)
        raise FunctionFailure(f"The sandbox deployment does not execute function code ({path}).")

    def snapshot(self) -> dict[str, Any]:
        """Env vars, pushes and the function spec of the deployment."""
        with self.lock:
            latest = self._pushes[-1] if self._pushes else None
            state = {
                "environment_variables": dict(sorted(self._variables.items())),
                "pushes": [push.summary() for push in self._pushes],
                "functions": list(latest.functions) if latest else [],
                "last_push_time": latest.pushed_at if latest else None,
                "schema": latest.analyzed_schema if latest else None,
                "documents": {table: list(docs) for table, docs in sorted(self._documents.items())},
            }
            return {"deployments": {self.deployment: state}}

    def reset(self) -> None:
        """Back to the seed: no env vars, one push of the reference app's modules."""
        with self.lock:
            self._variables = {}
            self._pushes = []
            self._audit = []
            self._pending = {}
            self._documents = {}
            self._id_tables = {}
            self._changes += 1
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
        self._changes += 1
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
            value = self._system_query(
                path, args[0] if isinstance(args, list) and args else {}, self._cloud_url(request)
            )
        except _QueryError as exc:
            return json_response(200, {"status": "error", "errorMessage": str(exc), "logLines": []})
        return json_response(200, {"status": "success", "value": value, "logLines": []})

    def _system_query(self, path: str, args: Any, origin: str) -> Any:
        cloud_url = self.url.rstrip("/") if self.url else origin
        builtins = {
            "CONVEX_CLOUD_URL": cloud_url,
            "CONVEX_SITE_URL": f"https://{self.deployment}.convex.site",
        }
        if path == "_system/cli/modules:apiSpec":
            return list(self._pushes[-1].functions) if self._pushes else []
        if path == "_system/cli/convexUrl:cloudUrl":
            return cloud_url
        if path in ("_system/cli/tableSize", "_system/cli/tableSize:default"):
            table = args.get("tableName") if isinstance(args, dict) else None
            if not isinstance(table, str):
                raise _QueryError(
                    "ArgumentValidationError: Object is missing the required field `tableName`."
                )
            return len(self._documents.get(table, []))
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
            analyzed = self._analyzed_schema(schema, body.get("schemaBundle"))
        except ChangeError as exc:
            return _error(400, exc.code, exc.message)
        except PushError as exc:
            return _error(exc.status, exc.code, exc.message)
        # the same check as the deploy2 flow's wait_for_schema/finish_push
        failure = schema_failure(analyzed, self._documents, self._id_tables)
        if failure is not None:
            return _error(400, "SchemaValidationFailed", failure["error"])
        if body.get("dryRun") is True:
            return json_response(
                200, {"pushedAt": None, "functions": len(function_spec(modules)), "dryRun": True}
            )
        push = self._record_push(modules, schema, message)
        push.analyzed_schema = analyzed
        return json_response(200, {"pushedAt": push.pushed_at, "functions": len(push.functions)})

    def _analyzed_schema(self, schema: str | None, bundle: Any) -> dict[str, Any] | None:
        """The ``export()`` JSON of a push_config schema, for the stored-document check.

        ``schemaBundle`` (``schema.ts`` bundled by esbuild, as the CLI bundles it) is run
        like a deploy2 push's schema. Without it, the TypeScript source cannot be run here:
        the same text as the live push keeps its analyzed schema, and a new schema is
        accepted unchecked only while no documents are stored (raises PushError otherwise).
        """
        if bundle is not None:
            if not isinstance(bundle, str) or schema is None:
                raise ChangeError("BadJsonBody", "`schemaBundle` must be a string, sent with `schema`")
            analysis = analyze_modules((), Module("schema.js", bundle), dict(self._variables))
            if analysis.schema is None:
                raise PushError(400, "ModuleAnalyzeFailed", "schemaBundle has no defineSchema(...) export")
            return analysis.schema
        if schema is None:
            return None
        latest = self._pushes[-1] if self._pushes else None
        if latest is not None and latest.schema == schema:
            return latest.analyzed_schema
        stored = sum(len(documents) for documents in self._documents.values())
        if stored:
            message = (
                f"The sandbox cannot check the {stored} stored documents against a schema sent as "
                "TypeScript source only. Deploy with `npx convex deploy`, or send `schemaBundle` "
                "(`deploycheck sandbox upload convex` does when the app's node_modules has convex "
                "and esbuild)."
            )
            raise PushError(400, "SchemaNotAnalyzed", message)
        return None

    # -- state --------------------------------------------------------------------------------

    def _record_push(self, modules: tuple[Module, ...], schema: str | None, message: str | None) -> Push:
        pushed_at = int(self._now() * 1000)
        if self._pushes:
            # two pushes within one millisecond must still be told apart by time
            pushed_at = max(pushed_at, self._pushes[-1].pushed_at + 1)
        push = Push(pushed_at, message, schema, modules, function_spec(modules))
        self._pushes.append(push)
        self._changes += 1
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
