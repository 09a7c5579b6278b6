"""The retry and backoff policy of :class:`deploycheck.http.client.HttpClient`.

Which methods are idempotent, how long to wait before the next attempt (``Retry-After``
or a rate limit's reset time first, else capped exponential backoff with jitter, bounded
by a total budget), whether a
connection error happened before anything was sent, and the error that reports a request
still failing once its retries are spent.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Mapping
from dataclasses import replace

from deploycheck.errors import PlatformError

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_MAX",
    "IDEMPOTENT_METHODS",
    "backoff_wait",
    "exhausted_error",
    "nothing_sent",
    "parse_retry_after",
    "rate_limit_wait",
]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
BACKOFF_BASE = 0.5
BACKOFF_MAX = 8.0


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def rate_limit_wait(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds a rate-limited answer asks the client to wait, or None when it names no wait.

    ``Retry-After`` first; else, when ``x-ratelimit-remaining`` is ``0``, until
    ``x-ratelimit-reset`` (UTC epoch seconds), as GitHub's rate-limit documentation says
    for its 403, 422 and 429 answers. ``headers`` must look names up case-insensitively
    (``requests``' headers do).
    """
    retry_after = parse_retry_after(headers.get("retry-after"))
    if retry_after is not None:
        return retry_after
    remaining, reset_text = headers.get("x-ratelimit-remaining"), headers.get("x-ratelimit-reset")
    if remaining is None or remaining.strip() != "0" or reset_text is None:
        return None
    try:
        reset = float(reset_text)
    except ValueError:
        return None
    current = time.time() if now is None else now
    return max(0.0, reset - current)


def nothing_sent(exc: BaseException) -> bool:
    """True when a connection error happened before any byte of the request was sent."""
    import urllib3.exceptions as u3

    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, u3.NewConnectionError | ConnectionRefusedError):
            return True
        stack.extend([getattr(item, "reason", None), item.__cause__, item.__context__])
        stack.extend(a for a in item.args if isinstance(a, BaseException))
    return False


def backoff_wait(
    failure: PlatformError, retry_after: float | None, retries_done: int, remaining: float, budget: float
) -> float:
    """Seconds to sleep before the next attempt; raise when that would pass the budget.

    ``remaining`` is what is left of the ``budget`` (both in seconds).
    """
    wait = retry_after
    if wait is None:
        wait = min(BACKOFF_MAX, BACKOFF_BASE * 2**retries_done) * (1 + random.uniform(0, 0.2))  # noqa: S311
        if failure.status == 429:
            wait = max(wait, 1.0)
    if wait >= remaining:
        msg = f"{failure.detail}; waiting {wait:.0f} s would exceed the {budget:.0f} s retry budget"
        error = replace(failure, detail=msg, hint=failure.hint or "try again later", retryable=True)
        raise error from failure.__cause__
    return wait


def exhausted_error(failure: PlatformError, retries: int) -> PlatformError:
    """``failure`` as reported once ``retries`` retries are spent (unchanged when none were made)."""
    if retries == 0:
        return failure
    detail = f"{failure.detail} (still failing after {retries} retr{'y' if retries == 1 else 'ies'})"
    return replace(failure, detail=detail, retryable=True)
