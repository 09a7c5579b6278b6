"""The HTTP client: guards, timeouts, bounded retries and error mapping."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
import requests
import responses
import urllib3

from deploycheck.errors import (
    AuthError,
    ConfigError,
    MalformedResponse,
    NotFoundError,
    PlatformError,
    PlatformTimeout,
    PlatformUnavailable,
    RateLimitedError,
)
from deploycheck.http import (
    HttpClient,
    HttpSettings,
    check_base_url,
    parse_retry_after,
    require_credentials,
)

from .conftest import FakeTime

BASE = "https://api.example.test/v1"


@pytest.fixture
def client(fake_time: FakeTime) -> HttpClient:
    """A client of BASE with a fake clock."""
    return fake_time.install(
        HttpClient(platform="example", base_url=BASE, headers={"Authorization": "Bearer tok-123456789"})
    )


def test_https_required_for_remote_hosts() -> None:
    """A plain-http base URL on a remote host is refused, naming the variable."""
    with pytest.raises(ConfigError) as info:
        check_base_url("http://api.example.test", "CLOUDFLARE_API_BASE_URL")
    assert info.value.problems[0].path == "CLOUDFLARE_API_BASE_URL"
    assert "not https" in str(info.value)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080", "http://127.5.0.1/x", "http://localhost:1", "http://[::1]:9"]
)
def test_loopback_may_use_http(url: str) -> None:
    """Loopback hosts may use plain http (the sandbox)."""
    assert check_base_url(url + "/", "X") == url


def test_insecure_override_allows_http() -> None:
    """DEPLOYCHECK_ALLOW_INSECURE=1 lets a remote http base URL through."""
    settings = HttpSettings.from_environ({"DEPLOYCHECK_ALLOW_INSECURE": "1"})
    client = HttpClient(platform="p", base_url="http://intranet.example", settings=settings)
    assert client.base_url == "http://intranet.example"


def test_non_http_scheme_refused() -> None:
    """A base URL that is not http(s) is refused."""
    with pytest.raises(ConfigError, match="not an http"):
        check_base_url("ftp://example.test", "GITHUB_API_URL")


def test_settings_from_environ_reads_overrides() -> None:
    """DEPLOYCHECK_HTTP_TIMEOUT and DEPLOYCHECK_HTTP_RETRIES override the defaults."""
    settings = HttpSettings.from_environ({"DEPLOYCHECK_HTTP_TIMEOUT": "2", "DEPLOYCHECK_HTTP_RETRIES": "1"})
    assert (settings.read_timeout, settings.connect_timeout, settings.retries) == (2.0, 2.0, 1)
    assert HttpSettings.from_environ({}) == HttpSettings()


def test_settings_from_environ_rejects_garbage() -> None:
    """Malformed numeric settings are reported together."""
    with pytest.raises(ConfigError) as info:
        HttpSettings.from_environ({"DEPLOYCHECK_HTTP_TIMEOUT": "soon", "DEPLOYCHECK_HTTP_RETRIES": "-1"})
    assert {p.path for p in info.value.problems} == {"DEPLOYCHECK_HTTP_TIMEOUT", "DEPLOYCHECK_HTTP_RETRIES"}


def test_missing_credentials_name_every_variable() -> None:
    """Missing credentials raise one ConfigError naming each unset variable."""
    with pytest.raises(ConfigError) as info:
        require_credentials({"A": "x"}, {"A": "a", "CLOUDFLARE_API_TOKEN": "t", "CLOUDFLARE_ACCOUNT_ID": "i"})
    assert [p.path for p in info.value.problems] == ["CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID"]


def test_retry_after_seconds_and_http_date() -> None:
    """Retry-After is read as delta-seconds or as an HTTP-date."""
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_other_origin_refused(client: HttpClient, mocked: responses.RequestsMock) -> None:
    """An absolute URL on another origin is refused before anything is sent."""
    with pytest.raises(PlatformError, match="refusing to send credentials"):
        client.request("GET", "https://evil.example/v1/x", operation="follow")
    with pytest.raises(PlatformError, match="refusing"):
        client.request("GET", "https://api.example.test/other/x", operation="follow")
    assert client.requests == 0


def test_link_next_on_other_origin_refused(client: HttpClient, mocked: responses.RequestsMock) -> None:
    """Pagination does not follow a Link rel=next to another origin."""
    mocked.get(
        f"{BASE}/items",
        json={"items": [1]},
        headers={"Link": '<https://evil.example/items?page=2>; rel="next"'},
    )
    with pytest.raises(PlatformError, match=r"evil\.example"):
        client.pages("/items", operation="list items")
    assert len(mocked.calls) == 1


def test_429_retry_after_is_honoured(
    client: HttpClient, mocked: responses.RequestsMock, fake_time: FakeTime
) -> None:
    """A 429 with Retry-After waits that long, retries, and succeeds."""
    mocked.get(f"{BASE}/x", status=429, headers={"Retry-After": "2"}, json={"message": "slow down"})
    mocked.get(f"{BASE}/x", json={"ok": True})
    response = client.request("GET", "/x", operation="read x")
    assert response.json() == {"ok": True}
    assert fake_time.sleeps == [2.0]
    assert client.requests == 2


def test_429_on_non_idempotent_write_is_retried(
    client: HttpClient, mocked: responses.RequestsMock, fake_time: FakeTime
) -> None:
    """A 429 means nothing was done, so even a POST is retried."""
    mocked.post(f"{BASE}/x", status=429, headers={"Retry-After": "1"})
    mocked.post(f"{BASE}/x", status=201, json={})
    assert client.request("POST", "/x", operation="create x", json={}).status_code == 201
    assert len(mocked.calls) == 2


def test_500_on_non_idempotent_write_is_not_retried(
    client: HttpClient, mocked: responses.RequestsMock
) -> None:
    """A 5xx on a POST is reported at once, saying it was not retried."""
    mocked.post(f"{BASE}/x", status=500, json={"message": "boom"})
    with pytest.raises(PlatformUnavailable, match="not retried") as info:
        client.request("POST", "/x", operation="create x", json={"value": "hunter2-secret"})
    assert len(mocked.calls) == 1
    assert info.value.status == 500
    assert "hunter2" not in str(info.value)


def test_500_on_get_retried_then_bounded(
    client: HttpClient, mocked: responses.RequestsMock, fake_time: FakeTime
) -> None:
    """A persistent 5xx on a GET is retried three times, then reported."""
    mocked.get(f"{BASE}/x", status=503, json={"message": "down"})
    with pytest.raises(PlatformUnavailable, match="after 3 retries"):
        client.request("GET", "/x", operation="read x")
    assert len(mocked.calls) == 4
    assert len(fake_time.sleeps) == 3


def test_idempotent_post_is_retried_on_5xx(client: HttpClient, mocked: responses.RequestsMock) -> None:
    """A POST marked idempotent is retried on 5xx."""
    mocked.post(f"{BASE}/x", status=502)
    mocked.post(f"{BASE}/x", status=200, json={})
    client.request("POST", "/x", operation="update", json={}, idempotent=True)
    assert len(mocked.calls) == 2


def test_retry_after_beyond_budget_fails_fast(
    client: HttpClient, mocked: responses.RequestsMock, fake_time: FakeTime
) -> None:
    """A Retry-After longer than the remaining budget fails at once without waiting."""
    mocked.get(f"{BASE}/x", status=429, headers={"Retry-After": "300"}, json={"message": "later"})
    with pytest.raises(RateLimitedError, match="retry budget"):
        client.request("GET", "/x", operation="read x")
    assert fake_time.sleeps == []
    assert len(mocked.calls) == 1


def test_total_time_is_bounded(mocked: responses.RequestsMock, fake_time: FakeTime) -> None:
    """Retries stop when the next wait would pass the total budget."""
    client = fake_time.install(
        HttpClient(platform="p", base_url=BASE, settings=HttpSettings(retries=10, budget=5.0))
    )
    mocked.get(f"{BASE}/x", status=429, headers={"Retry-After": "2"})
    with pytest.raises(RateLimitedError):
        client.request("GET", "/x", operation="read x")
    assert sum(fake_time.sleeps) <= 5.0
    assert len(mocked.calls) == 3


def test_read_timeout_becomes_platform_timeout(client: HttpClient, mocked: responses.RequestsMock) -> None:
    """A read timeout on a write is reported as PlatformTimeout and not repeated."""
    mocked.post(f"{BASE}/x", body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(PlatformTimeout) as info:
        client.request("POST", "/x", operation="create x")
    assert isinstance(info.value.__cause__, requests.exceptions.ReadTimeout)
    assert len(mocked.calls) == 1


def test_read_timeout_on_get_is_retried(client: HttpClient, mocked: responses.RequestsMock) -> None:
    """A read timeout on a GET is retried."""
    mocked.get(f"{BASE}/x", body=requests.exceptions.ReadTimeout("read timed out"))
    mocked.get(f"{BASE}/x", json={})
    client.request("GET", "/x", operation="read x")
    assert len(mocked.calls) == 2


def _refused() -> requests.exceptions.ConnectionError:
    reason = urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection: [Errno 111]")  # type: ignore[arg-type]
    return requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/x", reason))  # type: ignore[arg-type]


def test_refused_connection_retried_even_for_writes(
    client: HttpClient, mocked: responses.RequestsMock
) -> None:
    """A refused connection sent nothing, so a POST is retried."""
    mocked.post(f"{BASE}/x", body=_refused())
    mocked.post(f"{BASE}/x", status=201, json={})
    assert client.request("POST", "/x", operation="create x").status_code == 201


def test_refused_connection_exhausted_is_unavailable(
    client: HttpClient, mocked: responses.RequestsMock
) -> None:
    """A connection refused on every attempt becomes PlatformUnavailable."""
    mocked.get(f"{BASE}/x", body=_refused())
    with pytest.raises(PlatformUnavailable, match="connection refused"):
        client.request("GET", "/x", operation="read x")
    assert len(mocked.calls) == 4


def test_dropped_connection_on_write_not_retried(client: HttpClient, mocked: responses.RequestsMock) -> None:
    """A connection lost after sending a POST is reported, not repeated."""
    mocked.post(f"{BASE}/x", body=requests.exceptions.ConnectionError("Connection aborted."))
    with pytest.raises(PlatformUnavailable, match="connection lost"):
        client.request("POST", "/x", operation="create x")
    assert len(mocked.calls) == 1


@pytest.mark.parametrize(
    ("status", "cls"), [(401, AuthError), (403, AuthError), (404, NotFoundError), (400, PlatformError)]
)
def test_status_mapping(
    client: HttpClient, mocked: responses.RequestsMock, status: int, cls: type[Exception]
) -> None:
    """4xx statuses map onto the error tree with the vendor message."""
    mocked.get(f"{BASE}/x", status=status, json={"message": "vendor says no", "code": "E1"})
    with pytest.raises(cls, match="vendor says no") as info:
        client.request("GET", "/x", operation="read x")
    assert info.value.code == "E1"  # type: ignore[attr-defined]
    assert len(mocked.calls) == 1


def test_malformed_json(client: HttpClient, mocked: responses.RequestsMock) -> None:
    """A body that is not JSON becomes MalformedResponse."""
    mocked.get(f"{BASE}/x", body="<html>login</html>", content_type="text/html")
    response = client.request("GET", "/x", operation="read x")
    with pytest.raises(MalformedResponse, match="text/html"):
        client.json(response, "read x")


def test_redirects_not_followed(client: HttpClient, mocked: responses.RequestsMock) -> None:
    """A redirect is reported, never followed with the credentials."""
    mocked.get(f"{BASE}/x", status=301, headers={"Location": "https://elsewhere.example/x"})
    with pytest.raises(PlatformError, match="redirect"):
        client.request("GET", "/x", operation="read x")
    assert len(mocked.calls) == 1


def test_credentials_sent_only_in_headers(client: HttpClient, mocked: responses.RequestsMock) -> None:
    """The client sends its Authorization header to its base URL."""
    mocked.get(f"{BASE}/x", json={})
    client.request("GET", "/x", operation="read x")
    assert mocked.calls[0].request.headers["Authorization"] == "Bearer tok-123456789"


@pytest.fixture
def hanging_server() -> Iterator[str]:
    """A loopback server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_hang_is_cut_by_read_timeout(hanging_server: str) -> None:
    """A server that never answers is cut by the read timeout and retries are bounded."""
    client = HttpClient(
        platform="p", base_url=hanging_server, settings=HttpSettings(read_timeout=0.2, retries=1, budget=5.0)
    )
    client.sleep = lambda s: None
    with pytest.raises(PlatformTimeout, match="read timeout"):
        client.request("GET", "/x", operation="read x")
    assert client.requests == 2
