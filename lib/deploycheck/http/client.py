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
  exceeds what is left of the budget the request fails at once;
* a 403 or 422 that names a wait (``Retry-After``, or ``x-ratelimit-remaining: 0`` with
  ``x-ratelimit-reset``: GitHub's secondary rate limits) was refused before it had any
  effect, so it is retried like a 429, writes included.

A client with a :class:`~deploycheck.http.pace.Pace` (GitHub's content-creating requests,
Cloudflare's API) waits for a free slot before sending, so a large sync keeps under the
vendor's rate instead of running into it; the wait shows in the progress line. The
sandbox (a loopback base URL) is paced only by ``DEPLOYCHECK_HTTP_PACE``.

One deadline covers a request, its retries and every byte of every response body: the
read timeout bounds each wait for data, and the body is read in chunks against the
deadline, so a server that trickles a byte a second cannot hold a command past its budget.
A body larger than ``max_bytes`` (``DEPLOYCHECK_HTTP_MAX_BYTES``, default 16 MiB) is
refused. Link pagination stops with an error on a repeated ``next`` URL.

Every failure becomes one :class:`deploycheck.errors.PlatformError` subclass naming the
platform, the operation, the status, the vendor code and the next step; request bodies
never appear in a message.

The policy lives in :mod:`deploycheck.http.retry`, the status-to-error mapping in
:mod:`deploycheck.http.errors`, settings and URL/credential guards in
:mod:`deploycheck.http.settings`; every name stays importable from here.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urljoin, urlsplit

from deploycheck import progress
from deploycheck.errors import (
    MalformedResponse,
    PlatformError,
    PlatformTimeout,
    PlatformUnavailable,
)
from deploycheck.http.errors import (
    Classifier,
    ErrorParser,
    Hinter,
    default_parse_error,
    error_for_status,
    no_hint,
)
from deploycheck.http.pace import Pace, Pacer, shared_pacer
from deploycheck.http.retry import (
    IDEMPOTENT_METHODS,
    backoff_wait,
    exhausted_error,
    nothing_sent,
    rate_limit_wait,
)
from deploycheck.http.settings import HttpSettings, check_base_url, is_loopback

if TYPE_CHECKING:
    # requests and urllib3 load when a platform is opened, not when a module using the client loads
    import requests

__all__ = ["HttpClient"]

_E = TypeVar("_E", bound=PlatformError)


@dataclass(frozen=True)
class _Call:
    """One request as :meth:`HttpClient.request` resolved it, sent once per attempt."""

    method: str
    url: str
    #: what ``requests`` sends (params, json, data, files, headers); never in ``repr``: bodies hold secrets
    kwargs: Mapping[str, Any] = field(repr=False)
    operation: str
    idempotent: bool
    accept: Collection[int]


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
        pace: Pace | None = None,
    ) -> None:
        self.settings = settings or HttpSettings()
        self.platform = platform
        insecure = self.settings.allow_insecure
        self.base_url = check_base_url(base_url, base_url_variable, allow_insecure=insecure)
        self._origin = urlsplit(self.base_url)
        if session is None:
            import requests  # when a platform is opened, not when its module loads

            session = requests.Session()
        self.session = session
        # never pick up proxies or .netrc credentials from the environment
        self.session.trust_env = False
        self.session.headers.update(headers or {})
        self.parse_error: ErrorParser = parse_error or default_parse_error
        self.hint: Hinter = hint or no_hint
        self.classify: Classifier = classify or (lambda status, code: None)
        #: how the client waits and tells time (tests replace them to run without waiting)
        self.sleep = sleep
        self.clock = clock
        self._lock = threading.Lock()
        self.requests = 0
        self.pacer = self._pacer(pace)

    def _pacer(self, pace: Pace | None) -> Pacer | None:
        """The shared pacer of this base URL: the platform's pace, or the settings' count and window.

        A loopback base URL (the sandbox) keeps no vendor's pace unless the settings give one:
        its limits are emulated only when switched on, at a scale of their own.
        """
        if self.settings.pace is not None:
            limit, window = self.settings.pace
            if limit < 1:
                return None
            label = f"{limit} requests per {window:g} s (DEPLOYCHECK_HTTP_PACE)"
            pace = Pace(limit, window, pace.methods if pace else (), label)
        elif is_loopback(self._origin.hostname or ""):
            return None
        return shared_pacer(self.base_url, pace) if pace is not None else None

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
            hint = "the vendor answered with a link to another origin; report it or check the base URL"
            raise self._failure(PlatformError, msg, "follow a link", hint)
        return path

    # -- errors --------------------------------------------------------------------------------

    def _failure(
        self,
        cls: type[_E],
        msg: str,
        operation: str,
        hint: str,
        *,
        status: int | None = None,
        retryable: bool = False,
    ) -> _E:
        """A ``cls`` error of this client's platform."""
        return cls(
            msg, platform=self.platform, operation=operation, status=status, hint=hint, retryable=retryable
        )

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
            hint = "check the base URL points at the vendor API, not a proxy or login page"
            raise self._failure(MalformedResponse, msg, operation, hint, status=response.status_code) from exc

    def malformed(self, operation: str, what: str) -> MalformedResponse:
        """A MalformedResponse saying the body lacked ``what``."""
        msg = f"the response is not the documented shape: {what}"
        hint = "check the base URL and the vendor API version"
        return self._failure(MalformedResponse, msg, operation, hint)

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
        call = _Call(
            method=method,
            url=self.url(path),
            kwargs={"params": params, "json": json, "data": data, "files": files, "headers": headers},
            operation=operation,
            idempotent=method in IDEMPOTENT_METHODS if idempotent is None else idempotent,
            accept=accept,
        )
        with progress.activity(self.platform, operation) as waiting:
            if self.pacer is None or not self.pacer.pace.applies(method):
                return self._send(call, waiting)
            wait, ticket = self.pacer.reserve()
            try:
                if wait > 0:
                    waiting.pacing(wait, self.pacer.pace.describe())
                    self.sleep(wait)
                return self._send(call, waiting)
            finally:
                self.pacer.finish(ticket)

    def _send(self, call: _Call, waiting: progress.Activity) -> requests.Response:
        deadline = self.clock() + self.settings.budget
        retries_done = 0
        while True:
            waiting.retrying(retries_done, self.settings.retries)
            outcome = self._attempt(call, deadline)
            if not isinstance(outcome, tuple):
                return outcome
            failure, may_retry, retry_after = outcome
            if not may_retry:
                raise failure from failure.__cause__
            if retries_done >= self.settings.retries:
                raise self._exhausted(failure, retries_done) from failure.__cause__
            wait = self._wait(failure, retry_after, retries_done, deadline)
            waiting.sleeping(wait, retries_done + 1, self.settings.retries)
            self.sleep(wait)
            retries_done += 1

    def _attempt(
        self, call: _Call, deadline: float
    ) -> requests.Response | tuple[PlatformError, bool, float | None]:
        """Send once: the response to return, or (failure, may retry, Retry-After seconds)."""
        import requests

        operation, idempotent = call.operation, call.idempotent
        remaining = max(0.1, deadline - self.clock())
        timeout = (min(self.settings.connect_timeout, remaining), min(self.settings.read_timeout, remaining))
        with self._lock:
            self.requests += 1
        try:
            response = self.session.request(
                call.method, call.url, timeout=timeout, allow_redirects=False, stream=True, **call.kwargs
            )
            self._read_body(response, operation, deadline)
        except requests.exceptions.ConnectTimeout as exc:
            # the request was never sent, so even a write may be repeated
            text = "no connection within the connect timeout"
            return self._transport_error(PlatformTimeout, text, operation, exc), True, None
        except requests.exceptions.Timeout as exc:
            text = "no answer within the read timeout"
            return self._transport_error(PlatformTimeout, text, operation, exc), idempotent, None
        except requests.exceptions.ConnectionError as exc:
            refused = nothing_sent(exc)
            text = "connection refused" if refused else "connection lost before an answer"
            failure = self._transport_error(PlatformUnavailable, text, operation, exc)
            return failure, idempotent or refused, None
        except requests.exceptions.RequestException as exc:
            raise self._transport_error(PlatformError, type(exc).__name__, operation, exc) from exc
        status = response.status_code
        if 200 <= status < 300 or status in call.accept:
            return response
        if 300 <= status < 400:
            location = response.headers.get("location", "?")
            msg = f"unexpected redirect to {location}; redirects are not followed with credentials"
            hint = "check the configured names and base URL (a renamed resource redirects)"
            raise self._failure(PlatformError, msg, operation, hint, status=status)
        if status == 429 or (status >= 500 and idempotent):
            return self.error(response, operation), True, rate_limit_wait(response.headers)
        if status in (403, 422):
            wait = rate_limit_wait(response.headers)
            if wait is not None:  # a rate limit refused it before it had any effect
                return self.error(response, operation), True, wait
        if status >= 500:
            extra = "not retried: the write may have reached the server; read the state before repeating"
            raise self.error(response, operation, extra=extra)
        raise self.error(response, operation)

    def _read_body(self, response: requests.Response, operation: str, deadline: float) -> None:
        """Read the whole body within ``deadline`` and ``max_bytes``, else raise a PlatformError."""
        limit = self.settings.max_bytes
        declared = response.headers.get("content-length", "")
        chunks: list[bytes] = []
        size = 0
        try:
            if declared.isdigit() and int(declared) > limit:
                raise self._too_large(operation, int(declared))
            for chunk in _chunks_as_they_arrive(response):
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    raise self._too_large(operation, size)
                if self.clock() > deadline:
                    msg = f"the response body did not arrive within the {self.settings.budget:g} s budget"
                    hint = "the platform answers too slowly; try later or raise DEPLOYCHECK_HTTP_BUDGET"
                    msg = f"{msg} ({size} bytes so far, {self._origin.netloc})"
                    raise self._failure(PlatformTimeout, msg, operation, hint)
        finally:
            response.close()
        response._content = b"".join(chunks)

    def _too_large(self, operation: str, size: int) -> PlatformError:
        msg = f"the response is larger than {self.settings.max_bytes} bytes ({size} bytes or more); not read"
        hint = "check the base URL points at the vendor API, or raise DEPLOYCHECK_HTTP_MAX_BYTES"
        return self._failure(PlatformError, msg, operation, hint)

    def _wait(
        self, failure: PlatformError, retry_after: float | None, retries_done: int, deadline: float
    ) -> float:
        """Seconds to sleep before the next attempt; raise when that would pass the budget."""
        remaining = deadline - self.clock()
        return backoff_wait(failure, retry_after, retries_done, remaining, self.settings.budget)

    def _transport_error(
        self, cls: type[PlatformError], text: str, operation: str, exc: BaseException
    ) -> PlatformError:
        hint = "check the network and the base URL; the platform may be down"
        error = self._failure(cls, f"{text} ({self._origin.netloc})", operation, hint, retryable=True)
        error.__cause__ = exc
        return error

    def _exhausted(self, failure: PlatformError, retries: int) -> PlatformError:
        return exhausted_error(failure, retries)

    def pages(
        self,
        path: str,
        *,
        operation: str,
        params: Mapping[str, Any] | None = None,
        max_pages: int = 1000,
        total_count: Callable[[requests.Response], int | None] | None = None,
        count_items: Callable[[requests.Response], int] | None = None,
    ) -> list[requests.Response]:
        """Follow ``Link: rel=next`` from ``path``; return every page's response (GitHub style).

        A ``next`` URL already fetched (a cycle), more than ``max_pages`` pages, or a further
        page once the items read (``count_items``) reach the first page's ``total_count``
        raise a MalformedResponse: the list cannot be read completely, so nothing is
        concluded from it.
        """
        first = self.request("GET", path, operation=operation, params=params)
        out = [first]
        seen = {first.url}
        total = total_count(first) if total_count is not None else None
        items = count_items(first) if count_items is not None else 0
        while True:
            link = out[-1].links.get("next", {}).get("url")
            if not link:
                return out
            url = urljoin(self.base_url + "/", link)
            if url in seen:
                raise self.malformed(operation, f"pagination loops: rel=next points back at {url}")
            if len(out) >= max_pages:
                raise self.malformed(operation, f"more than {max_pages} pages")
            if total is not None and count_items is not None and items >= total:
                raise self.malformed(operation, f"more pages than the reported total_count {total}")
            seen.add(url)
            out.append(self.request("GET", url, operation=operation))
            items += count_items(out[-1]) if count_items is not None else 0


def _chunks_as_they_arrive(response: requests.Response) -> Iterator[bytes]:
    """The body in the pieces the socket delivers (``read1``), so a deadline is checked between
    them; urllib3's errors become the requests exceptions :meth:`HttpClient._attempt` handles."""
    import requests
    import urllib3

    raw = response.raw
    if not hasattr(raw, "read1"):
        yield from response.iter_content(chunk_size=65536)
        return
    while True:
        try:
            chunk = raw.read1(65536, decode_content=True)
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise requests.exceptions.ReadTimeout(str(exc)) from exc
        except (urllib3.exceptions.ProtocolError, urllib3.exceptions.DecodeError) as exc:
            raise requests.exceptions.ConnectionError(str(exc)) from exc
        if not chunk:
            return
        yield chunk


def dumps(value: Any) -> str:
    """Compact JSON text (for multipart parts)."""
    return json.dumps(value, separators=(",", ":"))
