"""The ``npx convex deploy`` routes of the Convex emulator, and its stored documents.

``get_config_hashes`` and ``/api/deploy2/{evaluate_push,start_push,wait_for_schema,
finish_push,report_push_completed}`` as CLI 1.48 calls them (see :mod:`.convex_push`
for the request and answer shapes), plus :meth:`Deploy2Routes.seed_documents`, which the
admin API uses to store documents that later pushes are validated against
(:mod:`.convex_schema`). Mixed into :class:`~deploycheck.sandbox.convex.deployment.ConvexEmulator`.
"""

from __future__ import annotations

import functools
import re
import secrets
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from deploycheck.sandbox.convex.functions import Module, Push
from deploycheck.sandbox.convex.push import (
    PendingPush,
    PushError,
    analyze_modules,
    config_hashes,
    decode_body,
    finish_push_diff,
    index_diff,
    parse_start_push,
    spec_from_analysis,
    start_push_response,
)
from deploycheck.sandbox.convex.schema import check_document, schema_failure, table_validators
from deploycheck.sandbox.core import Request, Response, json_response

__all__ = ["Deploy2Routes", "error_response"]


def error_response(status: int, code: str, message: str) -> Response:
    """The backend's ``{"code", "message"}`` error."""
    return json_response(status, {"code": code, "message": message})


class _Refused(Exception):
    """Ends a push route early with ``response`` (a denied request)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


_R = TypeVar("_R", bound="Deploy2Routes")


def _route(handler: Callable[[_R, Request], Response]) -> Callable[[_R, Request], Response]:
    """``handler`` answering a denied request with its denial and a refused push with the
    backend's error, so that its helpers raise instead of returning the reply."""

    @functools.wraps(handler)
    def answer(routes: _R, request: Request) -> Response:
        try:
            return handler(routes, request)
        except _Refused as refused:
            return refused.response
        except PushError as exc:
            return error_response(exc.status, exc.code, exc.message)

    return answer


class Deploy2Routes:
    """Push-flow handlers; the emulator provides the state and the helpers declared here."""

    lock: threading.RLock
    _pushes: list[Push]
    _variables: dict[str, str]
    _pending: dict[str, PendingPush]
    _documents: dict[str, list[dict[str, Any]]]
    _id_tables: dict[str, str]
    _changes: int
    _now: Callable[[], float]

    def _deny(self, request: Request) -> Response | None:
        raise NotImplementedError

    def _record_push(self, modules: tuple[Module, ...], schema: str | None, message: str | None) -> Push:
        raise NotImplementedError

    def _config_hashes(self, request: Request) -> Response:
        denied = self._deny(request)
        if denied:
            return denied
        latest = self._pushes[-1] if self._pushes else None
        return json_response(200, config_hashes(latest))

    def _analyze_push(self, request: Request) -> tuple[tuple[Module, ...], Module | None, bool, Any]:
        """Modules, schema, dry-run flag and analysis of an authorized push body (see :func:`_route`)."""
        body = self._body(request)
        previous = self._pushes[-1] if self._pushes else None
        modules, schema, dry_run = parse_start_push(body, previous)
        return modules, schema, dry_run, analyze_modules(modules, schema, dict(self._variables))

    @_route
    def _evaluate_push(self, request: Request) -> Response:
        analysis = self._analyze_push(request)[3]
        previous = self._pushes[-1] if self._pushes else None
        diff = index_diff(previous.analyzed_schema if previous else None, analysis.schema)
        return json_response(
            200, {"schemaChange": {"allocatedComponentIds": {}, "schemaIds": {}, "indexDiffs": {"": diff}}}
        )

    @_route
    def _start_push(self, request: Request) -> Response:
        modules, schema, dry_run, analysis = self._analyze_push(request)
        previous = self._pushes[-1] if self._pushes else None
        schema_id = f"schema-{len(self._pushes)}-{secrets.token_hex(6)}"
        pending = PendingPush(
            schema_id, len(self._pushes), modules, schema.source if schema else None, analysis, dry_run
        )
        self._pending = {schema_id: pending}  # a newer push supersedes an unfinished one
        previous_schema = previous.analyzed_schema if previous else None
        return json_response(200, start_push_response(pending, previous_schema, dict(self._variables)))

    def _pending_for(self, schema_change: Any) -> PendingPush | None:
        ids = schema_change.get("schemaIds") if isinstance(schema_change, dict) else None
        schema_id = ids.get("") if isinstance(ids, dict) else None
        return self._pending.get(schema_id) if isinstance(schema_id, str) else None

    def _body(self, request: Request) -> Any:
        """The decoded body of an authorized request (see :func:`_route`)."""
        denied = self._deny(request)
        if denied:
            raise _Refused(denied)
        return decode_body(request.body, request.header("content-encoding"))

    @_route
    def _wait_for_schema(self, request: Request) -> Response:
        body = self._body(request)
        pending = self._pending_for(body.get("schemaChange") if isinstance(body, dict) else None)
        if pending is None or pending.base_pushes != len(self._pushes):
            return json_response(200, {"type": "raceDetected"})
        failure = self._validate_documents(pending)
        pending.validated, pending.failure = failure is None, failure
        return json_response(200, failure or {"type": "complete"})

    def _validate_documents(self, pending: PendingPush) -> dict[str, Any] | None:
        """The ``failed`` schema status for the first stored document the schema rejects."""
        return schema_failure(pending.analysis.schema, self._documents, self._id_tables)

    @_route
    def _finish_push(self, request: Request) -> Response:
        body = self._body(request)
        start = body.get("startPush") if isinstance(body, dict) else None
        pending = self._pending_for(start.get("schemaChange") if isinstance(start, dict) else None)
        if pending is None or pending.base_pushes != len(self._pushes):
            message = "Schema was overwritten by another push, or this push was never started. Push again."
            return error_response(409, "RaceDetected", message)
        failure = self._validate_documents(pending)
        if failure is not None:
            return error_response(400, "SchemaValidationFailed", failure["error"])
        previous = self._pushes[-1] if self._pushes else None
        previous_schema = previous.analyzed_schema if previous else None
        diff = finish_push_diff(previous, pending, previous_schema)
        if not (pending.dry_run or body.get("dryRun") is True):
            message = body.get("message")
            push = self._record_push(
                pending.modules, pending.schema_source, message if isinstance(message, str) else None
            )
            push.functions = spec_from_analysis(pending.analysis)
            push.analyzed_schema = pending.analysis.schema
            self._pending = {}
        return json_response(200, diff)

    def _report_push_completed(self, request: Request) -> Response:
        denied = self._deny(request)
        return denied or json_response(200, {})

    # -- documents ------------------------------------------------------------------------------

    def seed_documents(self, table: str, documents: list[dict[str, Any]]) -> list[str]:
        """Store ``documents`` in ``table`` (admin API); raises ValueError with the backend's message.

        Each document must match the table's validator of the current schema, as an
        insert would; system fields ``_id`` and ``_creationTime`` are assigned.
        """
        with self.lock:
            if not re.match(r"^[A-Za-z][A-Za-z0-9_]*$", table):
                msg = f"Invalid table name: {table!r}. Table names must start with a letter."
                raise ValueError(msg)
            latest = self._pushes[-1] if self._pushes else None
            validator = table_validators(latest.analyzed_schema if latest else None).get(table)
            stored: list[dict[str, Any]] = []
            ids = dict(self._id_tables)
            now = self._now() * 1000.0
            for index, fields in enumerate(documents):
                if not isinstance(fields, dict) or any(str(k).startswith("_") for k in fields):
                    msg = (
                        f"documents[{index}] must be an object without system fields (names starting with _)"
                    )
                    raise ValueError(msg)
                document_id = secrets.token_hex(16)
                ids[document_id] = table
                document = {**fields, "_id": document_id, "_creationTime": now + index}
                if validator is not None:
                    violation = check_document(table, document, validator, ids, existing=False)
                    if violation is not None:
                        raise ValueError(violation.message)
                stored.append(document)
            self._id_tables = ids
            self._documents.setdefault(table, []).extend(stored)
            self._changes += 1
            return [d["_id"] for d in stored]
