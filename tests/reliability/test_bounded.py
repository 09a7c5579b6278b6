"""Bounded effects: one deadline per request (body included), a size cap, pagination that ends.

Each case runs a small hostile HTTP server on 127.0.0.1 (a byte a second, a ``Link: rel=next``
to itself, more pages than the reported total, an endless body) and checks that deploycheck
gives up with a clear error within its budget, after a bounded number of requests.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from deploycheck.errors import MalformedResponse, PlatformError, PlatformTimeout
from deploycheck.http import HttpClient, HttpSettings
from deploycheck.platforms.github_actions import GithubActionsPlatform

Handler = Callable[[BaseHTTPRequestHandler, "Hostile"], None]
#: the bounds of these tests: 1 s per wait, 2 s per request
SETTINGS = HttpSettings(connect_timeout=1.0, read_timeout=1.0, retries=1, budget=2.0)
#: how long any case may take: the budget, one read timeout, and slack for a loaded machine
DEADLINE_S = SETTINGS.budget + SETTINGS.read_timeout + 5.0


def tag(request: pytest.FixtureRequest, row: str) -> None:
    """Count this test in the "bounded effects" table."""
    request.node.user_properties.append(("reliability-cell", f"bounded effects|{row}|result"))


class Hostile:
    """A loopback HTTP server answering every request with ``handler``; counts requests."""

    def __init__(self, handler: Handler) -> None:
        owner = self
        self.requests = 0
        self.stop = threading.Event()

        class _Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests += 1
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up
                    handler(self, owner)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        """Stop answering and release the port."""
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hostile() -> Iterator[Callable[[Handler], Hostile]]:
    """Start hostile servers; every one is stopped after the test."""
    started: list[Hostile] = []

    def start(handler: Handler) -> Hostile:
        started.append(server := Hostile(handler))
        return server

    yield start
    for server in started:
        server.close()


def trickle(h: BaseHTTPRequestHandler, owner: Hostile) -> None:
    """A JSON body sent a byte every half second (under the read timeout) for up to 15 s."""
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", "30")
    h.end_headers()
    for _ in range(30):
        if owner.stop.wait(0.5):
            return
        h.wfile.write(b" ")
        h.wfile.flush()


def self_link(h: BaseHTTPRequestHandler, owner: Hostile) -> None:
    """A GitHub list page whose rel=next is the page itself."""
    body = json.dumps({"total_count": 500, "secrets": [{"name": "A", "updated_at": "2026-01-01T00:00:00Z"}]})
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Link", f'<{owner.url}{h.path}>; rel="next"')
    h.end_headers()
    h.wfile.write(body.encode())


def endless_pages(h: BaseHTTPRequestHandler, owner: Hostile) -> None:
    """Pages that always link to one more page while reporting a total of two items."""
    page = owner.requests
    body = json.dumps(
        {"total_count": 2, "secrets": [{"name": f"S{page}", "updated_at": "2026-01-01T00:00:00Z"}]}
    )
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Link", f'<{owner.url}/repos/o/r/actions/secrets?page={page + 1}>; rel="next"')
    h.end_headers()
    h.wfile.write(body.encode())


def huge(h: BaseHTTPRequestHandler, owner: Hostile) -> None:
    """A 50 MB body without a Content-Length (read until the connection closes)."""
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Connection", "close")
    h.end_headers()
    chunk = b" " * 65536
    for _ in range(50 * 16):
        if owner.stop.is_set():
            return
        h.wfile.write(chunk)


def github(url: str) -> GithubActionsPlatform:
    """The GitHub adapter of repository o/r at ``url``."""
    environ = {"GITHUB_TOKEN": "ghp_bounded_test_token_0123", "GITHUB_API_URL": url}
    return GithubActionsPlatform.from_environ(repository="o/r", environ=environ, settings=SETTINGS)


def test_trickled_body_ends_at_the_budget(request: pytest.FixtureRequest, hostile: Any) -> None:
    """A server sending one byte a second cannot hold a request past its budget: PlatformTimeout."""
    tag(request, "1-byte-per-second body")
    server = hostile(trickle)
    client = HttpClient(platform="github-actions", base_url=server.url, settings=SETTINGS)
    start = time.monotonic()
    with pytest.raises(PlatformTimeout, match="budget"):
        client.request("GET", "/slow", operation="read slowly")
    assert time.monotonic() - start < DEADLINE_S
    assert server.requests == 1


def test_self_referencing_next_link_is_an_error(request: pytest.FixtureRequest, hostile: Any) -> None:
    """A Link rel=next pointing at the page itself stops at once with an error, not 1,000 requests."""
    tag(request, "rel=next cycle")
    server = hostile(self_link)
    with pytest.raises(MalformedResponse, match="pagination loops"):
        github(server.url).list_secrets()
    assert server.requests == 1


def test_more_pages_than_the_total_is_an_error(request: pytest.FixtureRequest, hostile: Any) -> None:
    """Pages beyond the reported total_count stop the read with an error, after total_count pages."""
    tag(request, "pages beyond total_count")
    server = hostile(endless_pages)
    with pytest.raises(MalformedResponse, match="total_count 2"):
        github(server.url).list_secrets()
    assert server.requests == 2


def test_oversized_response_is_refused(request: pytest.FixtureRequest, hostile: Any) -> None:
    """A body over the size cap is refused with a message naming the cap and the variable to raise it."""
    tag(request, "50 MB response")
    server = hostile(huge)
    settings = HttpSettings(
        connect_timeout=1.0, read_timeout=5.0, retries=0, budget=20.0, max_bytes=1024 * 1024
    )
    client = HttpClient(platform="github-actions", base_url=server.url, settings=settings)
    with pytest.raises(PlatformError, match="DEPLOYCHECK_HTTP_MAX_BYTES") as info:
        client.request("GET", "/huge", operation="read a lot")
    assert "larger than 1048576 bytes" in str(info.value)


def test_drift_against_a_trickling_platform_ends_within_its_budget(
    request: pytest.FixtureRequest,
    hostile: Any,
    workspace: Any,
    run_cli: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """drift with GitHub answering a byte a second exits 3 naming GitHub, within the budget."""
    tag(request, "drift vs 1-byte-per-second platform")
    server = hostile(trickle)
    monkeypatch.setenv("GITHUB_API_URL", server.url)
    done = run_cli(["drift", "--env", "sandbox"])
    assert done.code == 3, done.text
    assert "github" in done.text.lower()
    assert done.seconds < 4 * DEADLINE_S
