"""Data-plane probes: pages, Worker health, plain HTTP calls, meta tags and bounded polling."""

from __future__ import annotations

import json

import requests
import responses

from deploycheck.verify import call, fetch_page, find_meta, poll, read_health

APP = "https://app.example.com/"
WORKER = "https://log-ingestion.example.workers.dev"


@responses.activate
def test_fetch_page_reads_status_body_and_time() -> None:
    """A page GET keeps status, body and elapsed time; contains() looks for a marker."""
    responses.get(APP, body='<div data-app="app.example.com">', status=200)
    page = fetch_page(APP)
    assert page.is_ok
    assert page.contains('data-app="app.example.com"')
    assert page.elapsed_ms >= 0
    assert "HTTP 200" in page.describe()


@responses.activate
def test_fetch_page_connection_error_is_a_result() -> None:
    """A refused connection comes back as a result with an error, not an exception."""
    responses.get(APP, body=requests.ConnectionError("refused"))
    page = fetch_page(APP)
    assert page.status is None
    assert not page.is_ok
    assert "connection refused" in page.describe()


def test_find_meta() -> None:
    """The content of the named meta tag is found whatever the attribute order; absent gives None."""
    html = (
        '<html><head><meta content="dep-1" name="deploycheck-deployment"><meta name="x" content="y"></head>'
    )
    assert find_meta(html, "deploycheck-deployment") == "dep-1"
    assert find_meta(html, "missing") is None


@responses.activate
def test_read_health_parses_503_json() -> None:
    """An unhealthy 503 answer with JSON still parses: status, reason, versions."""
    body = {
        "status": "unhealthy",
        "version": "v9",
        "state_version": 2,
        "expected_state_version": 3,
        "reason": "r",
    }
    responses.get(f"{WORKER}/health", json=body, status=503)
    health = read_health(WORKER)
    assert (health.status, health.reason, health.version) == ("unhealthy", "r", "v9")
    assert (health.http_status, health.state_version, health.expected_state_version) == (503, 2, 3)


@responses.activate
def test_read_health_non_json_is_unreachable() -> None:
    """A body that is not JSON makes the health unreachable with the status in the reason."""
    responses.get(f"{WORKER}/health", body="<html>502 Bad Gateway</html>", status=502)
    health = read_health(WORKER)
    assert health.status == "unreachable"
    assert "HTTP 502" in health.reason


@responses.activate
def test_call_sends_method_headers_and_json() -> None:
    """call() sends the method, headers and JSON body and keeps lower-cased response headers."""
    responses.post(
        f"{WORKER}/logs",
        json={"accepted": True},
        status=202,
        headers={"Access-Control-Allow-Origin": "https://app.example.com"},
    )
    result = call("post", f"{WORKER}/logs", headers={"Origin": "https://app.example.com"}, json_body={"a": 1})
    assert result.status == 202
    assert result.json() == {"accepted": True}
    assert result.headers["access-control-allow-origin"] == "https://app.example.com"
    sent = responses.calls[0].request
    assert sent.headers["Origin"] == "https://app.example.com"
    assert json.loads(sent.body) == {"a": 1}


def test_poll_counts_attempts_and_stops_at_deadline() -> None:
    """poll() retries until satisfied, counting attempts, and stops when the deadline would pass."""
    now = [0.0]
    values = iter([1, 2, 3, 4, 5])

    def sleep(seconds: float) -> None:
        now[0] += seconds

    result = poll(
        lambda: next(values), lambda v: v >= 3, deadline_s=10, interval_s=1, sleep=sleep, clock=lambda: now[0]
    )
    assert (result.value, result.ok, result.attempts, result.needed_retries) == (3, True, 3, True)
    never = poll(lambda: 0, lambda v: v > 0, deadline_s=2.5, interval_s=1, sleep=sleep, clock=lambda: now[0])
    assert not never.ok
    assert never.attempts == 3
