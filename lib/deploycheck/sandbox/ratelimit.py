"""Emulated rate limits: Cloudflare's 1,200 requests per 5 minutes, GitHub's secondary limit.

Off until switched on through the admin API (``POST /rate-limits``). Each limit counts
requests in a fixed window and answers the way its vendor does once the window is full:

* ``cloudflare``: every API request counts; the request past the limit, and every request
  for one whole window after it ("all API calls for the next five minutes will be
  blocked"), get ``429`` with ``retry-after`` (seconds, rounded up) and the v4 envelope's
  code 971.
* ``github``: content-creating requests (any method but GET, HEAD and OPTIONS) count, at
  most 80 a minute; the one past the limit gets ``403`` (or ``429``/``422`` by
  ``status``) with "You have exceeded a secondary rate limit" and, by ``hint``, either a
  ``retry-after`` header or ``x-ratelimit-remaining: 0`` with ``x-ratelimit-reset``
  (UTC epoch seconds), the two answers GitHub's rate-limit documentation describes.

``window_s`` scales the vendor's window (tests use seconds, not minutes); ``limit``
defaults to the vendor's count. Both are bounded so that a test cannot switch on a wait
longer than :data:`MAX_WINDOW_S`.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from deploycheck.sandbox.core import Response, spec_problems

__all__ = ["DEFAULTS", "MAX_WINDOW_S", "RateLimit", "RateLimits", "parse_rate_limit"]

#: service -> (limit, window seconds) as the vendors document them
DEFAULTS: Mapping[str, tuple[int, float]] = {"cloudflare": (1200, 300.0), "github": (80, 60.0)}
MAX_WINDOW_S = 600.0
READ_METHODS = ("GET", "HEAD", "OPTIONS")
GITHUB_STATUSES = (403, 422, 429)
GITHUB_HINTS = ("retry-after", "reset")
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID."
)
THROTTLE_MESSAGE = "Please wait and consider throttling your request speed"
_KNOWN_KEYS = {"service", "limit", "window_s", "status", "hint"}


@dataclass
class RateLimit:
    """One emulated limit; see the module docstring."""

    service: str
    limit: int
    window_s: float
    status: int = 429
    hint: str = "retry-after"
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    wall: Callable[[], float] = field(default=time.time, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _window_start: float | None = field(default=None, repr=False)
    _count: int = field(default=0, repr=False)
    _blocked_until: float = field(default=0.0, repr=False)
    refused: int = 0

    def counts(self, method: str) -> bool:
        """Whether a request of ``method`` counts against this limit."""
        return self.service != "github" or method.upper() not in READ_METHODS

    def take(self, method: str) -> Response | None:
        """Count one request; the vendor's refusal when it is over the limit, else None."""
        if not self.counts(method):
            return None
        with self._lock:
            now = self.clock()
            if now < self._blocked_until:
                self.refused += 1
                return self._refusal(self._blocked_until - now)
            if self._window_start is None or now - self._window_start >= self.window_s:
                self._window_start, self._count = now, 0
            if self._count < self.limit:
                self._count += 1
                return None
            self.refused += 1
            if self.service == "cloudflare":
                self._blocked_until = now + self.window_s
                return self._refusal(self.window_s)
            return self._refusal(self._window_start + self.window_s - now)

    def _refusal(self, wait: float) -> Response:
        seconds = max(1, math.ceil(wait))
        if self.service == "cloudflare":
            body: dict[str, Any] = {
                "success": False,
                "errors": [{"code": 971, "message": THROTTLE_MESSAGE}],
                "messages": [],
                "result": None,
            }
            return Response(status=429, body=body, headers={"retry-after": str(seconds)})
        headers = {"x-ratelimit-limit": "5000", "x-ratelimit-resource": "core"}
        if self.hint == "retry-after":
            headers["retry-after"] = str(seconds)
            headers["x-ratelimit-remaining"] = "4999"
        else:
            headers["x-ratelimit-remaining"] = "0"
            headers["x-ratelimit-reset"] = str(math.ceil(self.wall() + wait))
        body = {
            "message": SECONDARY_MESSAGE,
            "documentation_url": "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"
            "#about-secondary-rate-limits",
            "status": str(self.status),
        }
        return Response(status=self.status, body=body, headers=headers)

    def as_dict(self) -> dict[str, Any]:
        """The limit as the admin API shows it."""
        return {
            "service": self.service,
            "limit": self.limit,
            "window_s": self.window_s,
            "status": self.status,
            "hint": self.hint,
            "refused": self.refused,
        }


def parse_rate_limit(spec: Mapping[str, Any]) -> RateLimit:
    """Build a limit from its admin-API JSON; raise ValueError naming every problem."""
    problems = spec_problems(spec, _KNOWN_KEYS, sorted(DEFAULTS))
    service = spec.get("service")
    if service not in DEFAULTS:
        service = "cloudflare"
    default_limit, default_window = DEFAULTS[str(service)]
    limit = spec.get("limit", default_limit)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        problems.append(f"limit must be a positive integer, got {limit!r}")
    window = spec.get("window_s", default_window)
    if isinstance(window, bool) or not isinstance(window, int | float) or not 0 < window <= MAX_WINDOW_S:
        problems.append(f"window_s must be a number of seconds in (0, {MAX_WINDOW_S:g}], got {window!r}")
    status = spec.get("status", 429 if service == "cloudflare" else 403)
    allowed = (429,) if service == "cloudflare" else GITHUB_STATUSES
    if status not in allowed:
        problems.append(f"status of a {service} limit must be one of {list(allowed)}, got {status!r}")
    hint = spec.get("hint", "retry-after")
    if hint not in GITHUB_HINTS:
        problems.append(f"hint must be one of {list(GITHUB_HINTS)}, got {hint!r}")
    if problems:
        raise ValueError("; ".join(problems))
    return RateLimit(str(service), int(limit), float(window), status=int(status), hint=str(hint))


class RateLimits:
    """The limits in force, one per service at most; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._limits: dict[str, RateLimit] = {}

    def set(self, spec: Mapping[str, Any]) -> RateLimit:
        """Switch a limit on (replacing the service's previous one, with fresh counts)."""
        limit = parse_rate_limit(spec)
        with self._lock:
            self._limits[limit.service] = limit
        return limit

    def take(self, service: str, method: str) -> Response | None:
        """The refusal for one request of ``service``, or None when no limit refuses it."""
        with self._lock:
            limit = self._limits.get(service)
        return limit.take(method) if limit is not None else None

    def active(self) -> list[RateLimit]:
        """The limits in force."""
        with self._lock:
            return list(self._limits.values())

    def clear(self) -> None:
        """Switch every limit off."""
        with self._lock:
            self._limits.clear()
