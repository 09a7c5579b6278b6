"""Data-plane probes: fetch a page, read a Worker's health, read a certificate's expiry.

These talk to the deployed app itself (its public URLs), not to vendor APIs, so they
need no credentials. Every probe has a bounded timeout and returns a result that
carries its explanation instead of raising: a check decides what is PASS, WARN or FAIL.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urljoin, urlsplit

from deploycheck import progress
from deploycheck.redact import redact

if TYPE_CHECKING:
    import requests

__all__ = [
    "CallResult",
    "HealthResult",
    "PageResult",
    "Polled",
    "call",
    "certificate_days_left",
    "fetch_page",
    "find_meta",
    "poll",
    "read_health",
]

DEFAULT_TIMEOUT = (5.0, 10.0)
T = TypeVar("T")


@dataclass(frozen=True)
class PageResult:
    """One GET of a page: status, body, elapsed time, or the error that stopped it."""

    url: str
    status: int | None
    body: str = ""
    elapsed_ms: float = 0.0
    headers: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None

    @property
    def is_ok(self) -> bool:
        """True when the page answered 200."""
        return self.status == 200

    def contains(self, marker: str) -> bool:
        """True when the body contains ``marker``."""
        return marker in self.body

    def describe(self) -> str:
        """One line saying what happened, for a check's message."""
        if self.error:
            return f"GET {self.url} failed: {self.error}"
        return f"GET {self.url} answered HTTP {self.status} in {self.elapsed_ms:.0f} ms"

    def meta(self, name: str) -> str | None:
        """The ``content`` of the page's first ``<meta name=NAME>``, or None."""
        return find_meta(self.body, name)


class _MetaFinder(HTMLParser):
    def __init__(self, name: str) -> None:
        super().__init__(convert_charrefs=True)
        self.name = name
        self.content: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "meta" or self.content is not None:
            return
        values = dict(attrs)
        if values.get("name") == self.name:
            self.content = values.get("content") or ""


def find_meta(html: str, name: str) -> str | None:
    """The ``content`` of the first ``<meta name=NAME content=...>`` in ``html``, or None."""
    finder = _MetaFinder(name)
    finder.feed(html)
    finder.close()
    return finder.content


@dataclass(frozen=True)
class HealthResult:
    """A Worker's ``/health`` answer, parsed; ``error`` when there was no usable answer."""

    url: str
    http_status: int | None
    data: Mapping[str, Any] = field(default_factory=dict)
    elapsed_ms: float = 0.0
    error: str | None = None

    @property
    def status(self) -> str:
        """healthy, degraded, unhealthy, or unreachable when there was no JSON answer."""
        if self.error:
            return "unreachable"
        return str(self.data.get("status", "unknown"))

    @property
    def reason(self) -> str:
        """The Worker's own explanation, or the probe's error."""
        if self.error:
            return self.error
        reason = self.data.get("reason")
        return str(reason) if reason else ""

    @property
    def version(self) -> str | None:
        """The code version the Worker reports."""
        value = self.data.get("version")
        return str(value) if value else None

    @property
    def state_version(self) -> int | None:
        """The Durable Object state version the Worker reports."""
        return _int_or_none(self.data.get("state_version"))

    @property
    def expected_state_version(self) -> int | None:
        """The Durable Object state version the running code expects."""
        return _int_or_none(self.data.get("expected_state_version"))


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


#: a probe answered 429 waits this long at most (per Retry-After) before asking once more
MAX_RETRY_AFTER_S = 5.0


#: answers of a page fetch that are asked once more after a short pause (transient by nature)
TRANSIENT = (502, 503, 504)


def _get(
    url: str,
    timeout: tuple[float, float],
    headers: Mapping[str, str] | None = None,
    *,
    transient: tuple[int, ...] = (),
) -> tuple[requests.Response, float]:
    """GET ``url``; a 429 with a short Retry-After (or a ``transient`` status, after 0.5 s) is
    asked once more.

    Returns the response and the seconds waited (callers leave the wait out of the latency).
    """
    import requests  # when a probe runs, not at plugin load

    from deploycheck.http import parse_retry_after

    with progress.activity(*_where(url, "GET")) as waiting:
        response = requests.get(url, timeout=timeout, headers=dict(headers or {}), allow_redirects=True)
        waited = 0.0
        if response.status_code == 429 or response.status_code in transient:
            wait = parse_retry_after(response.headers.get("retry-after"))
            if wait is None and response.status_code in transient:
                wait = 0.5
            if wait is not None and wait <= MAX_RETRY_AFTER_S:
                waiting.sleeping(wait, 1, 1)
                time.sleep(wait)
                waited = wait
                waiting.retrying(1, 1)
                response = requests.get(
                    url, timeout=timeout, headers=dict(headers or {}), allow_redirects=True
                )
    return response, waited


def _where(url: str, method: str) -> tuple[str, str]:
    """(host, "METHOD /path") of a request, for the progress line."""
    parts = urlsplit(url)
    return parts.netloc or url, f"{method} {parts.path or '/'}"


def fetch_page(url: str, *, timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> PageResult:
    """GET ``url`` (once more after a 429 or a 502/503/504) and return what came back; never raises."""
    import requests  # when a probe runs, not at plugin load
    start = time.perf_counter()
    try:
        response, waited = _get(url, timeout, transient=TRANSIENT)
    except requests.RequestException as exc:
        elapsed = (time.perf_counter() - start) * 1000
        return PageResult(url=url, status=None, elapsed_ms=elapsed, error=redact(_short_error(exc)))
    elapsed = (time.perf_counter() - start - waited) * 1000
    return PageResult(
        url=url,
        status=response.status_code,
        body=response.text,
        elapsed_ms=elapsed,
        headers=dict(response.headers),
    )


def read_health(
    base_url: str, path: str = "/health", *, timeout: tuple[float, float] = DEFAULT_TIMEOUT
) -> HealthResult:
    """GET the Worker's health endpoint and parse its JSON (a 503 with JSON still parses)."""
    import requests  # when a probe runs, not at plugin load
    url = urljoin(base_url.rstrip("/") + "/", path.lstrip("/"))
    start = time.perf_counter()
    try:
        response, waited = _get(url, timeout, {"Accept": "application/json"})
    except requests.RequestException as exc:
        elapsed = (time.perf_counter() - start) * 1000
        return HealthResult(url=url, http_status=None, elapsed_ms=elapsed, error=redact(_short_error(exc)))
    elapsed = (time.perf_counter() - start - waited) * 1000
    try:
        data = response.json()
    except (ValueError, json.JSONDecodeError):
        snippet = redact(response.text[:120])
        return HealthResult(
            url=url,
            http_status=response.status_code,
            elapsed_ms=elapsed,
            error=f"HTTP {response.status_code} with a body that is not JSON: {snippet!r}",
        )
    if not isinstance(data, dict):
        return HealthResult(
            url=url,
            http_status=response.status_code,
            elapsed_ms=elapsed,
            error="health JSON is not an object",
        )
    return HealthResult(url=url, http_status=response.status_code, data=data, elapsed_ms=elapsed)


@dataclass(frozen=True)
class CallResult:
    """One HTTP request of an integration step: status, lower-cased headers, body, or the error."""

    method: str
    url: str
    status: int | None
    headers: Mapping[str, str] = field(default_factory=dict)
    text: str = ""
    elapsed_ms: float = 0.0
    error: str | None = None

    def json(self) -> Any:
        """The body parsed as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.text)
        except ValueError:
            return None

    def describe(self) -> str:
        """One line saying what happened, for a check's message."""
        if self.error:
            return f"{self.method} {self.url} failed: {self.error}"
        return f"{self.method} {self.url} answered HTTP {self.status}"


def call(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    json_body: Any = None,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
) -> CallResult:
    """Make one HTTP request (no redirects followed, no retries); never raises for network errors."""
    import requests  # when a probe runs, not at plugin load
    start = time.perf_counter()
    try:
        with progress.activity(*_where(url, method.upper())):
            response = requests.request(
                method.upper(),
                url,
                headers=dict(headers or {}),
                json=json_body,
                timeout=timeout,
                allow_redirects=False,
            )
    except requests.RequestException as exc:
        elapsed = (time.perf_counter() - start) * 1000
        return CallResult(method.upper(), url, None, elapsed_ms=elapsed, error=redact(_short_error(exc)))
    elapsed = (time.perf_counter() - start) * 1000
    return CallResult(
        method=method.upper(),
        url=url,
        status=response.status_code,
        headers={k.lower(): v for k, v in response.headers.items()},
        text=response.text,
        elapsed_ms=elapsed,
    )


def certificate_days_left(url: str, *, timeout: float = 5.0) -> int:
    """Days until the TLS certificate of an https ``url`` expires (raises OSError/ssl errors)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or 443
    context = ssl.create_default_context()
    with (
        socket.create_connection((host, port), timeout=timeout) as sock,
        context.wrap_socket(sock, server_hostname=host) as tls,
    ):
        cert = tls.getpeercert()
    not_after = str(cert.get("notAfter", "")) if cert else ""
    expires = dt.datetime.fromtimestamp(ssl.cert_time_to_seconds(not_after), tz=dt.UTC)
    return (expires - dt.datetime.now(tz=dt.UTC)).days


@dataclass(frozen=True)
class Polled:
    """The result of :func:`poll`: the last value, whether it satisfied, and how many tries it took."""

    value: Any
    ok: bool
    attempts: int

    @property
    def needed_retries(self) -> bool:
        """True when it passed only after retrying: flaky or eventually consistent."""
        return self.ok and self.attempts > 1


def poll(
    probe: Callable[[], T],
    satisfied: Callable[[T], bool],
    *,
    deadline_s: float,
    interval_s: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Polled:
    """Call ``probe`` until ``satisfied`` holds or ``deadline_s`` passes (at least once).

    Bounded by time and therefore by attempts; ``sleep`` and ``clock`` are injectable so
    tests can switch waiting off.
    """
    end = clock() + deadline_s
    attempts = 0
    while True:
        attempts += 1
        value = probe()
        if satisfied(value):
            return Polled(value=value, ok=True, attempts=attempts)
        if clock() + interval_s > end:
            return Polled(value=value, ok=False, attempts=attempts)
        sleep(interval_s)


def _short_error(exc: BaseException) -> str:
    import requests  # when a probe runs, not at plugin load
    if isinstance(exc, requests.ConnectTimeout):
        return "connection timed out"
    if isinstance(exc, requests.ReadTimeout):
        return "no answer within the read timeout"
    if isinstance(exc, requests.ConnectionError):
        return "connection refused or reset"
    return type(exc).__name__
