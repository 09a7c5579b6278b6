"""The Convex sync protocol, server side: one WebSocket session as a state machine.

What ``npx convex env list``, ``env get`` and ``function-spec`` speak: the client's
``BaseConvexClient`` connects to ``/api/<client version>/sync``, sends ``Connect``,
``Authenticate`` (the admin key), ``ModifyQuerySet`` and ``Mutation``/``Action``, and
reads ``Transition`` messages whose ``startVersion`` must equal the version it holds
(``remote_query_set.ts``). Messages and errors follow the backend's
``crates/sync/src/worker.rs``, ``crates/local_backend/src/subs/mod.rs`` and
``sync_types/src/types/json.rs``: invalid JSON ends the session with a ``FatalError``
and a close frame without a code, a rejected admin key with an ``AuthError``, a
function that does not exist fails just that query or mutation.

:class:`SyncSession` never touches a socket: :mod:`deploycheck.sandbox.websocket`
feeds it text frames and sends what it returns.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "HEARTBEAT_S",
    "FunctionFailure",
    "SyncBackend",
    "SyncSession",
    "client_version_problem",
    "encode_ts",
]

#: ``HEARTBEAT_INTERVAL`` of ``subs/mod.rs``: a ``Ping`` message after this much silence
HEARTBEAT_S = 5.0
#: ``crates/common/deprecation.json``: npm clients below this are unsupported
_UNSUPPORTED_BELOW = (0, 19, 1)
_SEMVER_RE = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
_CLIENT_MESSAGES = ("Connect", "ModifyQuerySet", "Mutation", "Action", "Authenticate", "Event")
#: ``close_frame()`` of the backend's ``errors`` crate for errors that are not user errors
CLOSE_INTERNAL: tuple[int | None, str] = (1011, "InternalServerError")
#: no close code: what the backend sends after a ``FatalError`` or ``AuthError``
CLOSE_NO_STATUS: tuple[int | None, str] = (None, "")


class FunctionFailure(Exception):
    """A function call that fails; the message is what the client shows."""


class SyncBackend(Protocol):
    """What a session asks of the deployment (``ConvexEmulator`` implements it)."""

    lock: threading.RLock

    def sync_changes(self) -> int:
        """A counter that grows whenever a query result may have changed."""

    def admin_key_valid(self, key: str) -> bool:
        """Whether ``key`` (as sent in ``Authenticate``) is this deployment's admin key."""

    def run_function(self, kind: str, path: str, args: Any, *, admin: bool, origin: str) -> Any:
        """Run ``path`` as a ``query``/``mutation``/``action``; raise FunctionFailure.

        ``origin`` is the URL the client reached the deployment at.
        """


def encode_ts(ts: int) -> str:
    """A u64 timestamp as the protocol encodes it: base64 of 8 little-endian bytes."""
    return base64.b64encode(ts.to_bytes(8, "little")).decode("ascii")


def _decode_ts(encoded: Any) -> int | None:
    try:
        raw = base64.b64decode(str(encoded), validate=True)
    except ValueError:
        return None
    return int.from_bytes(raw, "little") if len(raw) == 8 else None


def client_version_problem(version: str) -> tuple[str, str] | None:
    """``(code, message)`` when the backend refuses client ``version`` (the path segment)."""
    match = _SEMVER_RE.match(version)
    if match is None:
        detail = "unexpected character" if version else "empty string, expected a semver version"
        return "InvalidClientVersion", f"Failed to parse client version: {detail}"
    if tuple(int(part) for part in match.groups()) < _UNSUPPORTED_BELOW:
        message = (
            f"The Convex npm package at version {version} is no longer supported. "
            "Update your Convex npm version with `npx convex update` or `npm update`."
        )
        return "ClientVersionUnsupported", message
    return None


class _SessionEnd(Exception):
    def __init__(self, final: dict[str, Any] | None, close: tuple[int | None, str]) -> None:
        super().__init__(close[1])
        self.final = final
        self.close = close


@dataclass
class _Query:
    udf_path: str
    args: Any
    result: tuple[str, Any] | None = None


@dataclass
class SyncSession:
    """One client's sync state: query set, identity, the versions it was sent.

    ``receive(text)`` and ``refresh()`` return the server messages to send, in order;
    once ``close`` is set the transport sends the close frame and stops.
    """

    backend: SyncBackend
    client_version: str = "unknown"
    origin: str = ""
    query_set: int = 0
    identity: int = 0
    admin: bool = False
    session_id: str | None = None
    close: tuple[int | None, str] | None = None
    clock_skew: int | None = None
    sent_version: tuple[int, int, int] = (0, 0, 0)
    queries: dict[int, _Query] = field(default_factory=dict)
    _seen_changes: int = -1
    _ts: int = 0
    _last_sent: float = field(default_factory=time.monotonic)

    def receive(self, text: str) -> list[dict[str, Any]]:
        """Handle one text frame from the client."""
        if self.close is not None:
            return []
        try:
            message = _parse(text)
            out = self._handle(message)
        except _SessionEnd as end:
            self.close = end.close
            return [end.final] if end.final is not None else []
        return self._sent(out)

    def refresh(self) -> list[dict[str, Any]]:
        """A transition when the deployment changed since the last one, else a ping when due."""
        if self.close is not None:
            return []
        if self.queries and self.backend.sync_changes() != self._seen_changes:
            return self._sent(self._transition(list(self.queries), only_changed=True))
        if time.monotonic() - self._last_sent >= HEARTBEAT_S:
            return self._sent([{"type": "Ping"}])
        return []

    def _sent(self, out: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if out:
            self._last_sent = time.monotonic()
        return out

    # -- messages ---------------------------------------------------------------------------

    def _handle(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        kind = message["type"]
        if kind == "Connect":
            return self._connect(message)
        if kind == "Authenticate":
            return self._authenticate(message)
        if kind == "ModifyQuerySet":
            return self._modify_query_set(message)
        if kind in ("Mutation", "Action"):
            return self._call(kind, message)
        return []  # Event: metrics only

    def _connect(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        session_id, client_ts = message.get("sessionId"), message.get("clientTs")
        self.session_id = session_id if isinstance(session_id, str) else None
        if isinstance(client_ts, int | float):
            self.clock_skew = int(client_ts) - int(time.time() * 1000)
        observed = message.get("maxObservedTimestamp")
        if observed is not None:
            ts = _decode_ts(observed)
            if ts is None:
                raise _invalid_json("maxObservedTimestamp: invalid base64 u64")
            if ts > self._now_ts():
                # the client saw writes this deployment never made (worker.rs bails, a server error)
                raise _SessionEnd(None, CLOSE_INTERNAL)
        return []

    def _authenticate(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        base = message.get("baseVersion")
        token_type = message.get("tokenType")
        if not isinstance(base, int) or token_type not in ("Admin", "User", "None"):
            raise _invalid_json("Authenticate needs tokenType Admin, User or None and a baseVersion")
        if base != self.identity:
            raise _SessionEnd(None, CLOSE_INTERNAL)  # anyhow::ensure! in state.rs
        if token_type == "Admin":  # noqa: S105 - a token kind, not a secret
            value = message.get("value")
            if not isinstance(value, str) or not self.backend.admin_key_valid(value):
                error = {
                    "type": "AuthError",
                    "error": "The provided admin key was invalid for this instance",
                    "baseVersion": self.identity,
                    "authUpdateAttempted": True,
                }
                raise _SessionEnd(error, CLOSE_NO_STATUS)
            self.admin = True
        elif token_type == "User":  # noqa: S105 - a token kind, not a secret
            error = {
                "type": "AuthError",
                "error": "No auth provider found matching the given token (no providers configured). "
                "Check authConfig.ts.",
                "baseVersion": self.identity,
                "authUpdateAttempted": True,
            }
            raise _SessionEnd(error, CLOSE_NO_STATUS)
        else:
            self.admin = False
        self.identity = base + 1
        return self._transition([])

    def _modify_query_set(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        base, new = message.get("baseVersion"), message.get("newVersion")
        modifications = message.get("modifications")
        if not isinstance(base, int) or not isinstance(new, int) or not isinstance(modifications, list):
            raise _invalid_json("ModifyQuerySet needs baseVersion, newVersion and modifications")
        if base != self.query_set:
            error = f"Base version {base} passed up doesn't match the current version {self.query_set}"
            raise _SessionEnd({"type": "FatalError", "error": error}, CLOSE_NO_STATUS)
        if new <= base:
            raise _SessionEnd(None, CLOSE_INTERNAL)
        changed: list[int] = []
        removed: list[int] = []
        for item in modifications:
            query_id = item.get("queryId") if isinstance(item, dict) else None
            if not isinstance(query_id, int):
                raise _invalid_json("each modification needs a queryId")
            if item.get("type") == "Add":
                if not isinstance(item.get("udfPath"), str) or not isinstance(item.get("args"), list):
                    raise _invalid_json("Add needs a udfPath and args")
                self.queries[query_id] = _Query(item["udfPath"], item["args"])
                changed.append(query_id)
            elif item.get("type") == "Remove":
                self.queries.pop(query_id, None)
                removed.append(query_id)
            else:
                raise _invalid_json(f"unknown variant `{item.get('type')}`, expected `Add` or `Remove`")
        self.query_set = new
        return self._transition(changed, removed)

    def _call(self, kind: str, message: dict[str, Any]) -> list[dict[str, Any]]:
        request_id, udf_path, args = message.get("requestId"), message.get("udfPath"), message.get("args")
        if not isinstance(request_id, int) or not isinstance(udf_path, str) or not isinstance(args, list):
            raise _invalid_json(f"{kind} needs requestId, udfPath and args")
        response: dict[str, Any] = {"type": f"{kind}Response", "requestId": request_id, "logLines": []}
        try:
            with self.backend.lock:
                value = self.backend.run_function(
                    kind.lower(), udf_path, args[0] if args else {}, admin=self.admin, origin=self.origin
                )
        except FunctionFailure as exc:
            response.update(success=False, result=str(exc))
            if kind == "Mutation":
                response["ts"] = None
            return [response]
        response.update(success=True, result=value)
        if kind == "Mutation":
            response["ts"] = encode_ts(self._now_ts())
        return [response, *self._transition(list(self.queries), only_changed=True)]

    # -- transitions --------------------------------------------------------------------------

    def _now_ts(self) -> int:
        self._ts = max(self._ts + 1, time.time_ns())
        return self._ts

    def _transition(
        self, query_ids: list[int], removed: list[int] | None = None, *, only_changed: bool = False
    ) -> list[dict[str, Any]]:
        modifications: list[dict[str, Any]] = []
        with self.backend.lock:
            self._seen_changes = self.backend.sync_changes()
            for query_id in query_ids:
                query = self.queries[query_id]
                result = self._evaluate(query)
                if only_changed and result == query.result:
                    continue
                query.result = result
                modifications.append(_modification(query_id, result))
        modifications.extend({"type": "QueryRemoved", "queryId": q} for q in removed or [])
        if only_changed and not modifications:
            return []
        start = self.sent_version
        end = (self.query_set, self._now_ts(), self.identity)
        self.sent_version = end
        return [
            {
                "type": "Transition",
                "startVersion": _version(start),
                "endVersion": _version(end),
                "modifications": modifications,
                "clientClockSkew": self.clock_skew,
                "serverTs": time.time_ns(),
            }
        ]

    def _evaluate(self, query: _Query) -> tuple[str, Any]:
        args = query.args[0] if query.args else {}
        try:
            value = self.backend.run_function(
                "query", query.udf_path, args, admin=self.admin, origin=self.origin
            )
            return ("ok", value)
        except FunctionFailure as exc:
            return ("error", str(exc))


def _version(version: tuple[int, int, int]) -> dict[str, Any]:
    query_set, ts, identity = version
    return {"querySet": query_set, "ts": encode_ts(ts), "identity": identity}


def _modification(query_id: int, result: tuple[str, Any]) -> dict[str, Any]:
    status, payload = result
    if status == "ok":
        return {
            "type": "QueryUpdated",
            "queryId": query_id,
            "value": payload,
            "logLines": [],
            "journal": None,
        }
    return {
        "type": "QueryFailed",
        "queryId": query_id,
        "errorMessage": payload,
        "logLines": [],
        "journal": None,
    }


def _invalid_json(detail: str) -> _SessionEnd:
    error = {"type": "FatalError", "error": f"Received Invalid JSON on websocket: {detail}"}
    return _SessionEnd(error, CLOSE_NO_STATUS)


def _parse(text: str) -> dict[str, Any]:
    try:
        message = json.loads(text)
    except ValueError as exc:
        raise _invalid_json(str(exc)) from None
    if not isinstance(message, dict):
        raise _invalid_json("invalid type: expected an object")
    kind = message.get("type")
    if kind is None:
        raise _invalid_json("missing field `type`")
    if kind not in _CLIENT_MESSAGES:
        expected = ", ".join(f"`{name}`" for name in _CLIENT_MESSAGES)
        raise _invalid_json(f"unknown variant `{kind}`, expected one of {expected}")
    return message
