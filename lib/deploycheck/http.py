"""HTTP for every platform adapter: timeouts, bounded retries, and credential guards.

One :class:`HttpClient` per vendor base URL. It owns the credential headers, so a
credential only ever travels to its own vendor: absolute URLs (a ``Link: rel=next``)
on another origin are refused, and redirects are never followed. Base URLs must be
https unless the host is loopback or ``DEPLOYCHECK_ALLOW_INSECURE=1``.

Retries (the policy of wrangler's ``retry.ts`` and stamina, bounded twice):

* idempotent requests retry on 429, 5xx, timeouts and connection errors;
* non-idempotent writes retry only on 429 and on a refused connection (nothing reached
  the server); a 5xx or a timeout is reported, never blindly repeated;
* at most ``retries`` retries (default 3, ``DEPLOYCHECK_HTTP_RETRIES``) within a total
  budget (default 30 s); ``Retry-After`` (seconds or HTTP-date) is honoured, and when it
  exceeds what is left of the budget the request fails at once.

Every failure becomes one :class:`deploycheck.errors.PlatformError` subclass naming the
platform, the operation, the status, the vendor code and the next step; request bodies
never appear in a message.
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import random
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from deploycheck.errors import (
    AuthError,
    ConfigError,
    MalformedResponse,
    NotFoundError,
    PlatformError,
    PlatformTimeout,
    PlatformUnavailable,
    Problem,
    RateLimitedError,
)

__all__ = [
    "IDEMPOTENT_METHODS",
    "Classifier",
    "ErrorParser",
    "Hinter",
    "HttpClient",
    "HttpSettings",
    "check_base_url",
    "default_hint",
    "error_for_status",
    "is_loopback",
    "parse_retry_after",
    "require_credentials",
]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
BACKOFF_BASE = 0.5
BACKOFF_MAX = 8.0
#: reads a vendor error body: (message, vendor code)
ErrorParser = Callable[[requests.Response], tuple[str, "str | int | None"]]
#: the next step for (status, vendor code, operation)
Hinter = Callable[["int | None", "str | int | None", str], str]
#: the error class a vendor code implies regardless of the status (None: decide by status)
Classifier = Callable[["int | None", "str | int | None"], "type[PlatformError] | None"]


def _env_number(environ: Mapping[str, str], name: str, default: float, problems: list[Problem]) -> float:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < 0:
        problems.append(
            Problem(source="environment", path=name, message=f"expected a non-negative number, got {raw!r}.")
        )
        return default
    return value


@dataclass(frozen=True)
class HttpSettings:
    """Timeouts and retry bounds shared by every request of a client."""

    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    retries: int = 3
    budget: float = 30.0
    allow_insecure: bool = False

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> HttpSettings:
        """Read ``DEPLOYCHECK_HTTP_TIMEOUT`` (read timeout, s), ``DEPLOYCHECK_HTTP_RETRIES``,
        ``DEPLOYCHECK_HTTP_BUDGET`` (total s), ``DEPLOYCHECK_ALLOW_INSECURE``."""
        problems: list[Problem] = []
        read = _env_number(environ, "DEPLOYCHECK_HTTP_TIMEOUT", cls.read_timeout, problems)
        retries = _env_number(environ, "DEPLOYCHECK_HTTP_RETRIES", cls.retries, problems)
        budget = _env_number(environ, "DEPLOYCHECK_HTTP_BUDGET", cls.budget, problems)
        if problems:
            raise ConfigError(problems)
        return cls(
            connect_timeout=min(cls.connect_timeout, read) if read > 0 else cls.connect_timeout,
            read_timeout=read,
            retries=int(retries),
            budget=budget,
            allow_insecure=environ.get("DEPLOYCHECK_ALLOW_INSECURE", "") in {"1", "true", "yes"},
        )


def is_loopback(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ::1."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(url: str, variable: str, *, allow_insecure: bool = False) -> str:
    """Return ``url`` without a trailing slash, or raise ConfigError naming ``variable``.

    Credentials are sent to this URL, so it must be https unless it is loopback or
    ``allow_insecure`` is set.
    """
    parts = urlsplit(url)
    problem = None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        problem = f"{url!r} is not an http(s) URL."
        hint = "Set it to the vendor's API base URL, e.g. https://api.cloudflare.com/client/v4."
    elif parts.scheme == "http" and not (allow_insecure or is_loopback(parts.hostname)):
        problem = f"{url!r} is not https; credentials would travel in clear text."
        hint = "Use an https URL (http is allowed for loopback hosts or with DEPLOYCHECK_ALLOW_INSECURE=1)."
    if problem is not None:
        raise ConfigError([Problem(source="environment", path=variable, message=problem, hint=hint)])
    return url.rstrip("/")


def require_credentials(environ: Mapping[str, str], needed: Mapping[str, str]) -> dict[str, str]:
    """Return the values of ``needed`` (variable -> what it is for); raise one ConfigError
    naming every unset variable."""
    problems = [
        Problem(
            source="environment",
            path=name,
            message=f"{name} is not set.",
            hint=f"Export {name} ({purpose}).",
        )
        for name, purpose in needed.items()
        if not environ.get(name)
    ]
    if problems:
        raise ConfigError(problems, title="missing platform credentials")
    from deploycheck.redact import register_environment_credentials

    # credentials are masked in every message from here on, even if a vendor echoes them
    register_environment_credentials({name: environ[name] for name in needed})
    return {name: environ[name] for name in needed}


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


def _default_parse_error(response: requests.Response) -> tuple[str, str | int | None]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("message", "error", "errorMessage"):
            if isinstance(body.get(key), str):
                return body[key], body.get("code") if isinstance(body.get("code"), str | int) else None
    return (response.reason or f"HTTP {response.status_code}"), None


def _no_hint(status: int | None, code: str | int | None, operation: str) -> str:
    return ""


def _nothing_sent(exc: BaseException) -> bool:
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


class HttpClient:
    """Requests to one vendor base URL with its credentials, timeouts and retry policy.

    ``requests`` counts every HTTP request sent (retries included), so callers can check
    that reading state costs a fixed number of requests.

    Example::

        client = HttpClient(platform="convex", base_url=url, headers={"Authorization": f"Convex {key}"},
                            base_url_variable="CONVEX_URL")
        body = client.json(client.request("GET", "/api/v1/deployment_info", operation="read deployment info"),
                           "read deployment info")
    """

    def __init__(
        self,
        *,
        platform: str,
        base_url: str,
        headers: Mapping[str, str] | None = None,
        base_url_variable: str = "base URL",
        settings: HttpSettings | None = None,
        parse_error: ErrorParser | None = None,
        hint: Hinter | None = None,
        classify: Classifier | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings or HttpSettings()
        self.platform = platform
        insecure = self.settings.allow_insecure
        self.base_url = check_base_url(base_url, base_url_variable, allow_insecure=insecure)
        self._origin = urlsplit(self.base_url)
        self.session = session or requests.Session()
        # never pick up proxies or .netrc credentials from the environment
        self.session.trust_env = False
        self.session.headers.update(headers or {})
        self.parse_error: ErrorParser = parse_error or _default_parse_error
        self.hint: Hinter = hint or _no_hint
        self.classify: Classifier = classify or (lambda status, code: None)
        #: how the client waits and tells time (tests replace them to run without waiting)
        self.sleep = sleep
        self.clock = clock
        self._lock = threading.Lock()
        self.requests = 0

    # -- URLs ---------------------------------------------------------------------------------

    def url(self, path: str) -> str:
        """The absolute URL of ``path``; an absolute URL must lie under the base URL."""
        if "://" not in path:
            return self.base_url + "/" + path.lstrip("/")
        parts = urlsplit(path)
        same_origin = (parts.scheme, parts.hostname, parts.port) == (
            self._origin.scheme,
            self._origin.hostname,
            self._origin.port,
        )
        if not same_origin or not parts.path.startswith(self._origin.path):
            msg = f"refusing to send credentials to {parts.scheme}://{parts.netloc}, outside {self.base_url}"
            raise PlatformError(
                msg,
                platform=self.platform,
                operation="follow a link",
                hint="the vendor answered with a link to another origin; report it or check the base URL",
            )
        return path

    # -- errors --------------------------------------------------------------------------------

    def error(self, response: requests.Response, operation: str, *, extra: str = "") -> PlatformError:
        """The PlatformError for an error response (vendor message and code, next step)."""
        message, code = self.parse_error(response)
        if extra:
            message = f"{message}; {extra}"
        return error_for_status(
            response.status_code,
            message,
            platform=self.platform,
            operation=operation,
            code=code,
            hint=self.hint(response.status_code, code, operation),
            cls=self.classify(response.status_code, code),
        )

    def json(self, response: requests.Response, operation: str) -> Any:
        """The JSON body of ``response``, or MalformedResponse."""
        try:
            return response.json()
        except ValueError as exc:
            content_type = response.headers.get("content-type", "?")
            msg = f"expected JSON, got {content_type} ({len(response.content)} bytes)"
            raise MalformedResponse(
                msg,
                platform=self.platform,
                operation=operation,
                status=response.status_code,
                hint="check the base URL points at the vendor API, not a proxy or login page",
            ) from exc

    def malformed(self, operation: str, what: str) -> MalformedResponse:
        """A MalformedResponse saying the body lacked ``what``."""
        return MalformedResponse(
            f"the response is not the documented shape: {what}",
            platform=self.platform,
            operation=operation,
            hint="check the base URL and the vendor API version",
        )

    # -- requests ------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        accept: Collection[int] = (),
    ) -> requests.Response:
        """Send one request with timeouts and the retry policy; return a 2xx response
        (or one whose status is in ``accept``), else raise a PlatformError.

        ``idempotent`` defaults to True for GET, HEAD, OPTIONS, PUT and DELETE; pass True
        for a POST or PATCH the vendor documents as idempotent in effect.
        """
        method = method.upper()
        url = self.url(path)
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        kwargs: dict[str, Any] = {
            "params": params,
            "json": json,
            "data": data,
            "files": files,
            "headers": headers,
        }
        deadline = self.clock() + self.settings.budget
        retries_done = 0
        while True:
            outcome = self._attempt(
                method,
                url=url,
                kwargs=kwargs,
                operation=operation,
                idempotent=idempotent,
                accept=accept,
                deadline=deadline,
            )
            if isinstance(outcome, requests.Response):
                return outcome
            failure, may_retry, retry_after = outcome
            if not may_retry:
                raise failure from failure.__cause__
            if retries_done >= self.settings.retries:
                raise self._exhausted(failure, retries_done) from failure.__cause__
            self.sleep(self._wait(failure, retry_after, retries_done, deadline))
            retries_done += 1

    def _attempt(
        self,
        method: str,
        *,
        url: str,
        kwargs: dict[str, Any],
        operation: str,
        idempotent: bool,
        accept: Collection[int],
        deadline: float,
    ) -> requests.Response | tuple[PlatformError, bool, float | None]:
        """Send once: the response to return, or (failure, may retry, Retry-After seconds)."""
        remaining = max(0.1, deadline - self.clock())
        timeout = (min(self.settings.connect_timeout, remaining), min(self.settings.read_timeout, remaining))
        with self._lock:
            self.requests += 1
        try:
            response = self.session.request(method, url, timeout=timeout, allow_redirects=False, **kwargs)
        except requests.exceptions.ConnectTimeout as exc:
            # the request was never sent, so even a write may be repeated
            text = "no connection within the connect timeout"
            return self._transport_error(PlatformTimeout, text, operation, exc), True, None
        except requests.exceptions.Timeout as exc:
            text = "no answer within the read timeout"
            return self._transport_error(PlatformTimeout, text, operation, exc), idempotent, None
        except requests.exceptions.ConnectionError as exc:
            refused = _nothing_sent(exc)
            text = "connection refused" if refused else "connection lost before an answer"
            failure = self._transport_error(PlatformUnavailable, text, operation, exc)
            return failure, idempotent or refused, None
        except requests.exceptions.RequestException as exc:
            raise self._transport_error(PlatformError, type(exc).__name__, operation, exc) from exc
        status = response.status_code
        if 200 <= status < 300 or status in accept:
            return response
        if 300 <= status < 400:
            location = response.headers.get("location", "?")
            raise PlatformError(
                f"unexpected redirect to {location}; redirects are not followed with credentials",
                platform=self.platform,
                operation=operation,
                status=status,
                hint="check the configured names and base URL (a renamed resource redirects)",
            )
        if status == 429 or (status >= 500 and idempotent):
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            return self.error(response, operation), True, retry_after
        if status >= 500:
            extra = "not retried: the write may have reached the server; read the state before repeating"
            raise self.error(response, operation, extra=extra)
        raise self.error(response, operation)

    def _wait(
        self, failure: PlatformError, retry_after: float | None, retries_done: int, deadline: float
    ) -> float:
        """Seconds to sleep before the next attempt; raise when that would pass the budget."""
        wait = retry_after
        if wait is None:
            wait = min(BACKOFF_MAX, BACKOFF_BASE * 2**retries_done) * (1 + random.uniform(0, 0.2))  # noqa: S311
            if failure.status == 429:
                wait = max(wait, 1.0)
        if wait >= deadline - self.clock():
            budget = self.settings.budget
            msg = f"{failure.detail}; waiting {wait:.0f} s would exceed the {budget:.0f} s retry budget"
            raise type(failure)(
                msg,
                platform=failure.platform,
                operation=failure.operation,
                status=failure.status,
                code=failure.code,
                hint=failure.hint or "try again later",
                retryable=True,
            ) from failure.__cause__
        return wait

    def _transport_error(
        self, cls: type[PlatformError], text: str, operation: str, exc: BaseException
    ) -> PlatformError:
        error = cls(
            f"{text} ({self._origin.netloc})",
            platform=self.platform,
            operation=operation,
            hint="check the network and the base URL; the platform may be down",
            retryable=True,
        )
        error.__cause__ = exc
        return error

    def _exhausted(self, failure: PlatformError, retries: int) -> PlatformError:
        if retries == 0:
            return failure
        error = type(failure)(
            f"{failure.detail} (still failing after {retries} retr{'y' if retries == 1 else 'ies'})",
            platform=failure.platform,
            operation=failure.operation,
            status=failure.status,
            code=failure.code,
            hint=failure.hint,
            retryable=True,
        )
        return error

    def pages(
        self,
        path: str,
        *,
        operation: str,
        params: Mapping[str, Any] | None = None,
        max_pages: int = 1000,
    ) -> list[requests.Response]:
        """Follow ``Link: rel=next`` from ``path``; return every page's response (GitHub style)."""
        out = [self.request("GET", path, operation=operation, params=params)]
        while len(out) < max_pages:
            link = out[-1].links.get("next", {}).get("url")
            if not link:
                break
            out.append(self.request("GET", urljoin(self.base_url + "/", link), operation=operation))
        return out


def dumps(value: Any) -> str:
    """Compact JSON text (for multipart parts)."""
    return json.dumps(value, separators=(",", ":"))
