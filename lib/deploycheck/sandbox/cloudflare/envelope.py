"""Pieces every Cloudflare v4 emulator route shares: the envelope, errors, bodies, clocks."""

from __future__ import annotations

import email.parser
import email.policy
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from deploycheck.sandbox.core import Request, Response, json_response

__all__ = [
    "ApiError",
    "FormPart",
    "envelope",
    "iso",
    "json_body",
    "json_list",
    "new_id",
    "now",
    "ok",
    "page_args",
    "page_of",
    "parse_multipart",
    "seed_id",
]

T = TypeVar("T")
J = TypeVar("J", dict[str, Any], list[Any])

#: uuid5 namespace of the seeded resources: stable ids across resets and runs
_SEED_NAMESPACE = uuid.UUID("6f1d3c55-6a0e-4c59-9d1e-2d7c0f1b8a11")


class ApiError(Exception):
    """A Cloudflare API failure: HTTP status plus one or more ``{code, message}`` errors."""

    def __init__(
        self, status: int, code: int, message: str, *, chain: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.errors: list[dict[str, Any]] = [{"code": code, "message": message}]
        if chain:
            self.errors[0]["error_chain"] = chain

    def response(self) -> Response:
        """The error envelope."""
        return json_response(
            self.status, {"success": False, "errors": self.errors, "messages": [], "result": None}
        )


def envelope(result: Any, result_info: dict[str, Any] | None = None) -> dict[str, Any]:
    """A success envelope around ``result``."""
    body: dict[str, Any] = {"success": True, "errors": [], "messages": [], "result": result}
    if result_info is not None:
        body["result_info"] = result_info
    return body


def ok(result: Any, result_info: dict[str, Any] | None = None, status: int = 200) -> Response:
    """A success response."""
    return json_response(status, envelope(result, result_info))


def now() -> datetime:
    """The current UTC time."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """Cloudflare's timestamp format, e.g. ``2024-05-01T12:00:00.123456Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def days_ago(days: float, anchor: datetime | None = None) -> datetime:
    """A moment ``days`` before ``anchor`` (default now)."""
    return (anchor or now()) - timedelta(days=days)


def new_id() -> str:
    """A fresh UUID string."""
    return str(uuid.uuid4())


def seed_id(name: str) -> str:
    """A stable UUID string for a seeded resource."""
    return str(uuid.uuid5(_SEED_NAMESPACE, name))


def _json_of(request: Request, kind: type[J], what: str) -> J:
    try:
        body = request.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, 10026, f"Could not parse request body: {exc}") from exc
    if not isinstance(body, kind):
        raise ApiError(400, 10026, f"Could not parse request body: expected a JSON {what}")
    return body


def json_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 Cloudflare error."""
    return _json_of(request, dict, "object")


def json_list(request: Request) -> list[Any]:
    """The request body as a JSON array, or a 400 Cloudflare error."""
    return _json_of(request, list, "array")


@dataclass
class FormPart:
    """One part of a multipart/form-data body."""

    name: str
    content: bytes
    filename: str | None = None
    content_type: str = "application/octet-stream"
    headers: dict[str, str] = field(default_factory=dict)

    def text(self) -> str:
        """The content decoded as UTF-8."""
        return self.content.decode("utf-8")


def page_args(request: Request, default: int, maximum: int) -> tuple[int, int]:
    """``(page, per_page)`` from the query, per_page capped at ``maximum``; 400/10026 when not integers."""
    try:
        page = max(1, int(request.arg("page") or 1))
        per_page = max(1, min(maximum, int(request.arg("per_page") or default)))
    except ValueError as exc:
        raise ApiError(400, 10026, f"page and per_page must be integers: {exc}") from exc
    return page, per_page


def page_of(
    request: Request, items: Sequence[T], default: int, maximum: int, *, total_pages: bool = True
) -> tuple[Sequence[T], dict[str, Any]]:
    """The page of ``items`` the query asks for (:func:`page_args`) and its ``result_info``;
    ``total_pages`` only where the endpoint reports it (the Workers versions list does not)."""
    page, per_page = page_args(request, default, maximum)
    chunk = items[(page - 1) * per_page : page * per_page]
    info: dict[str, Any] = {
        "page": page,
        "per_page": per_page,
        "count": len(chunk),
        "total_count": len(items),
    }
    if total_pages:
        info["total_pages"] = max(1, -(-len(items) // per_page))
    return chunk, info


def parse_multipart(request: Request) -> list[FormPart]:
    """The parts of a multipart/form-data request, or a 400 Cloudflare error."""
    content_type = request.header("content-type")
    if not content_type.lower().startswith("multipart/form-data"):
        raise ApiError(400, 10026, f"Expected multipart/form-data, got {content_type or 'no content type'!r}")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.body)
    if not message.is_multipart():
        raise ApiError(400, 10026, "Could not parse multipart body")
    parts: list[FormPart] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        parts.append(
            FormPart(
                name=name,
                content=content,
                filename=part.get_filename(),
                content_type=part.get_content_type(),
                headers={k.lower(): str(v) for k, v in part.items()},
            )
        )
    return parts


def form_json(part: FormPart) -> dict[str, Any]:
    """A multipart part holding a JSON object, or a 400 Cloudflare error."""
    try:
        value = json.loads(part.text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, 10026, f"Could not parse the {part.name!r} part as JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ApiError(400, 10026, f"The {part.name!r} part must be a JSON object")
    return value
