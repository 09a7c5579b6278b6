"""A Convex system query over the sync protocol, the way ``npx convex function-spec`` runs it.

The CLI's ``runSystemQuery`` (``src/cli/lib/run.ts``) opens the WebSocket
``/api/<client version>/sync``, authenticates with the admin key, subscribes to one
query and takes the first result. :func:`run_system_query` does the same with the
``websockets`` library, bounded by the HTTP settings' timeouts and retries: a dropped
or refused connection is retried (a read is safe to repeat), an ``AuthError`` or
``FatalError`` is not.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from deploycheck.errors import (
    AuthError,
    MalformedResponse,
    PlatformError,
    PlatformTimeout,
    PlatformUnavailable,
)
from deploycheck.http import HttpSettings

__all__ = ["CLIENT_VERSION", "run_system_query"]

#: the convex npm version this client presents (the CLI sends its own)
CLIENT_VERSION = "1.48.0"


def _sync_url(base_url: str) -> str:
    parts = urlsplit(base_url.rstrip("/"))
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}{parts.path}/api/{CLIENT_VERSION}/sync"


def run_system_query(
    base_url: str,
    admin_key: str,
    path: str,
    args: dict[str, Any] | None = None,
    *,
    operation: str,
    settings: HttpSettings | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """The first result of query ``path`` on the deployment at ``base_url``.

    Raises AuthError for a rejected admin key, PlatformError for a failed query or a
    ``FatalError``, PlatformTimeout / PlatformUnavailable when no answer comes after the
    bounded retries, MalformedResponse for messages that are not the protocol's.
    """
    settings = settings or HttpSettings()
    attempts = max(1, settings.retries + 1)
    deadline = time.monotonic() + settings.budget
    last: PlatformError | None = None
    for attempt in range(attempts):
        try:
            return _query_once(base_url, admin_key, path, args or {}, operation=operation, settings=settings)
        except (PlatformTimeout, PlatformUnavailable) as exc:
            last = exc
        if attempt + 1 < attempts and time.monotonic() < deadline:
            sleep(min(0.2 * 2**attempt, 2.0))
    assert last is not None
    raise last


def _query_once(
    base_url: str, admin_key: str, path: str, args: dict[str, Any], *, operation: str, settings: HttpSettings
) -> Any:
    # websockets loads when a Convex function is queried, not when the platform module loads
    from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
    from websockets.sync.client import connect

    url = _sync_url(base_url)
    timeout = settings.connect_timeout + settings.read_timeout
    try:
        with connect(
            url, open_timeout=settings.connect_timeout, close_timeout=1, max_size=64 * 1024 * 1024
        ) as socket:
            for message in (
                {
                    "type": "Connect",
                    "sessionId": str(uuid.uuid4()),
                    "connectionCount": 0,
                    "lastCloseReason": "InitialConnect",
                    "clientTs": int(time.time() * 1000),
                },
                {"type": "Authenticate", "tokenType": "Admin", "value": admin_key, "baseVersion": 0},
                {
                    "type": "ModifyQuerySet",
                    "baseVersion": 0,
                    "newVersion": 1,
                    "modifications": [{"type": "Add", "queryId": 0, "udfPath": path, "args": [args]}],
                },
            ):
                socket.send(json.dumps(message))
            give_up = time.monotonic() + timeout
            while True:
                left = give_up - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                answer = _parse(socket.recv(timeout=left), operation)
                result = _result_of(answer, operation)
                if result is not _PENDING:
                    return result
    except TimeoutError:
        msg = f"no answer from the Convex sync endpoint within {timeout:.0f} s"
        raise PlatformTimeout(msg, platform="convex", operation=operation) from None
    except InvalidStatus as exc:
        status = exc.response.status_code
        body = exc.response.body.decode("utf-8", "replace") if exc.response.body else ""
        if status in (401, 403):
            raise AuthError(body or f"HTTP {status}", platform="convex", operation=operation) from None
        if status >= 500 or status == 429:
            raise PlatformUnavailable(
                f"the sync endpoint answered HTTP {status}", platform="convex", operation=operation
            ) from None
        raise PlatformError(
            f"the sync endpoint refused the connection: HTTP {status} {body}".strip(),
            platform="convex",
            operation=operation,
        ) from None
    except (InvalidHandshake, InvalidURI) as exc:
        raise PlatformError(
            f"WebSocket handshake failed: {exc}", platform="convex", operation=operation
        ) from None
    except (ConnectionClosed, OSError) as exc:
        msg = f"the sync connection to {base_url} failed: {type(exc).__name__}: {exc}"
        raise PlatformUnavailable(msg, platform="convex", operation=operation) from None


_PENDING = object()


def _parse(frame: str | bytes, operation: str) -> dict[str, Any]:
    try:
        message = json.loads(frame)
    except ValueError:
        message = None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise MalformedResponse(
            "a sync message that is not a JSON object with a type", platform="convex", operation=operation
        )
    return message


def _result_of(message: dict[str, Any], operation: str) -> Any:
    kind = message["type"]
    if kind == "AuthError":
        raise AuthError(
            str(message.get("error", "authentication failed")),
            platform="convex",
            operation=operation,
            hint="check CONVEX_SELF_HOSTED_ADMIN_KEY / CONVEX_DEPLOY_KEY",
        )
    if kind == "FatalError":
        raise PlatformError(str(message.get("error", "fatal error")), platform="convex", operation=operation)
    if kind != "Transition":
        return _PENDING  # Ping, responses to nothing we sent
    for modification in message.get("modifications") or []:
        if not isinstance(modification, dict) or modification.get("queryId") != 0:
            continue
        if modification.get("type") == "QueryUpdated":
            return modification.get("value")
        if modification.get("type") == "QueryFailed":
            msg = f"query failed: {modification.get('errorMessage', '?')}"
            raise PlatformError(msg, platform="convex", operation=operation)
    return _PENDING
