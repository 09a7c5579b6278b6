"""GitHub's error replies and JSON request bodies, shared by the Actions and the Issues API."""

from __future__ import annotations

from typing import Any

from deploycheck.sandbox.core import Request, Response, json_response

__all__ = ["error", "object_body"]

REST_DOCS = "https://docs.github.com/rest"


def error(status: int, message: str, docs: str = REST_DOCS, **extra: Any) -> Response:
    """GitHub's error body: the message, any ``extra`` fields, the documentation URL, the status."""
    body = {"message": message, **extra, "documentation_url": docs, "status": str(status)}
    return json_response(status, body)


def object_body(request: Request, docs: str) -> dict[str, Any] | Response:
    """The request's JSON object body, or GitHub's error for a body that is not one."""
    try:
        body = request.json()
    except ValueError:
        return error(400, "Problems parsing JSON", docs)
    if not isinstance(body, dict):
        return error(422, "Invalid request.\n\nThe request body must be a JSON object.", docs)
    return body
