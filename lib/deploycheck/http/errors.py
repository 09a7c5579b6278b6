"""How an HTTP failure becomes a :class:`deploycheck.errors.PlatformError`.

The status-to-class mapping (401/403, 404, 429, 5xx), the default next step per status,
the default reader of a vendor error body, and the hook types adapters pass to
:class:`deploycheck.http.client.HttpClient` to read, classify and explain their vendor's errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from deploycheck.errors import (
    AuthError,
    NotFoundError,
    PlatformError,
    PlatformUnavailable,
    RateLimitedError,
)

__all__ = [
    "Classifier",
    "ErrorParser",
    "Hinter",
    "default_hint",
    "default_parse_error",
    "error_for_status",
    "no_hint",
]

if TYPE_CHECKING:
    import requests

#: reads a vendor error body: (message, vendor code)
ErrorParser = Callable[["requests.Response"], tuple[str, "str | int | None"]]
#: the next step for (status, vendor code, operation)
Hinter = Callable[["int | None", "str | int | None", str], str]
#: the error class a vendor code implies regardless of the status (None: decide by status)
Classifier = Callable[["int | None", "str | int | None"], "type[PlatformError] | None"]


def _class_for_status(status: int | None) -> type[PlatformError]:
    if status in (401, 403):
        return AuthError
    if status == 404:
        return NotFoundError
    if status == 429:
        return RateLimitedError
    if status is not None and status >= 500:
        return PlatformUnavailable
    return PlatformError


def default_hint(status: int | None) -> str:
    """The next step for an error the vendor's own hints say nothing about."""
    if status in (401, 403):
        return "check the platform's credential and that it may do this"
    if status == 404:
        return "check the names in deploycheck.yaml and the base URL"
    if status == 429:
        return "the platform is rate limiting; wait and run again"
    if status is not None and status >= 500:
        return "the platform is failing; check its status page and run again later"
    return "check the request the platform rejected (names, values, permissions) and run again"


def error_for_status(
    status: int | None,
    message: str,
    *,
    platform: str,
    operation: str,
    code: str | int | None = None,
    hint: str = "",
    cls: type[PlatformError] | None = None,
) -> PlatformError:
    """The PlatformError subclass for an HTTP status (401/403, 404, 429, 5xx), unless ``cls`` is given."""
    if cls is None:
        cls = _class_for_status(status)
    retryable = status == 429 or (status is not None and status >= 500)
    return cls(
        message,
        platform=platform,
        operation=operation,
        status=status,
        code=code,
        hint=hint or default_hint(status),
        retryable=retryable,
    )


def default_parse_error(response: requests.Response) -> tuple[str, str | int | None]:
    """(message, vendor code) from a JSON ``message``/``error``/``errorMessage`` body, else the reason."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("message", "error", "errorMessage"):
            if isinstance(body.get(key), str):
                return body[key], body.get("code") if isinstance(body.get("code"), str | int) else None
    return (response.reason or f"HTTP {response.status_code}"), None


def no_hint(status: int | None, code: str | int | None, operation: str) -> str:
    """The hinter of a vendor without hints of its own: always empty (the default applies)."""
    return ""
