"""The example Worker's /logs under workerd: CORS, validation, storage and the rate limiter."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest
import requests

if TYPE_CHECKING:
    from conftest import RunningWorker

APP_ORIGIN = "https://app.example.com"

pytestmark = pytest.mark.requires_wrangler


def _post_log(worker: RunningWorker, payload: object, origin: str | None = APP_ORIGIN) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if origin is not None:
        headers["Origin"] = origin
    return requests.post(f"{worker.url}/logs", json=payload, headers=headers, timeout=10)


def test_preflight_from_allowed_origin(full_worker: RunningWorker) -> None:
    """OPTIONS /logs from the app's origin answers 204 with the CORS grant for POST and Content-Type."""
    response = requests.options(
        f"{full_worker.url}/logs",
        headers={
            "Origin": APP_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=10,
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "content-type" in response.headers["Access-Control-Allow-Headers"].lower()
    assert response.headers["Vary"] == "Origin"


def test_preflight_from_other_origin_is_refused(full_worker: RunningWorker) -> None:
    """OPTIONS /logs from an origin not in ALLOWED_ORIGINS answers 403 without a CORS grant."""
    response = requests.options(
        f"{full_worker.url}/logs",
        headers={"Origin": "https://evil.example.net", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response.headers


def test_log_is_accepted_and_listed(full_worker: RunningWorker) -> None:
    """A log from the allowed origin is accepted with 202 and CORS headers, then listed first by GET /logs."""
    message = f"checkout failed {uuid.uuid4()}"
    response = _post_log(full_worker, {"level": "error", "message": message, "source": "web/checkout"})
    assert response.status_code == 202
    assert response.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert response.headers["Vary"] == "Origin"
    body = response.json()
    assert body["accepted"] is True
    assert body["id"] == body["log"]["id"]
    assert body["log"]["level"] == "error"
    assert body["log"]["message"] == message
    assert body["log"]["source"] == "web/checkout"
    assert body["log"]["origin"] == APP_ORIGIN

    listed = requests.get(f"{full_worker.url}/logs", timeout=10)
    assert listed.status_code == 200
    assert listed.json()["logs"][0] == body["log"]


def test_log_list_holds_the_last_twenty(full_worker: RunningWorker) -> None:
    """GET /logs returns the 20 most recent logs, newest first."""
    ids = []
    for n in range(22):
        response = _post_log(full_worker, {"level": "info", "message": f"batch {n}"})
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    listed = requests.get(f"{full_worker.url}/logs", timeout=10).json()["logs"]
    assert [log["id"] for log in listed] == list(reversed(ids))[:20]


@pytest.mark.parametrize(
    "origin",
    [pytest.param("https://evil.example.net", id="other-origin"), pytest.param(None, id="no-origin")],
)
def test_log_from_other_origin_is_refused(full_worker: RunningWorker, origin: str | None) -> None:
    """POST /logs without an allowed Origin answers 403 and grants no CORS access."""
    response = _post_log(full_worker, {"level": "info", "message": "hello"}, origin=origin)
    assert response.status_code == 403
    assert response.json()["error"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in response.headers


def test_invalid_json_is_400(full_worker: RunningWorker) -> None:
    """A body that is not JSON answers 400 invalid_json, still with the CORS grant."""
    response = requests.post(
        f"{full_worker.url}/logs",
        data="{not json",
        headers={"Origin": APP_ORIGIN, "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_json"}
    assert response.headers["Access-Control-Allow-Origin"] == APP_ORIGIN


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"level": "loud", "message": "x"}, "level"),
        ({"level": "info"}, "message"),
        ({"level": "info", "message": "   "}, "message"),
        ({"level": "info", "message": "x", "source": 7}, "source"),
        (["level", "info"], "JSON object"),
    ],
)
def test_invalid_log_is_400(full_worker: RunningWorker, payload: object, problem: str) -> None:
    """A JSON body that is not a valid log answers 400 invalid_log naming the offending field."""
    response = _post_log(full_worker, payload)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_log"
    assert any(problem in p for p in body["problems"])


def test_rate_limit_per_origin(bare_worker: RunningWorker) -> None:
    """Past RATE_LIMIT_PER_MINUTE requests an origin gets 429 with Retry-After; other origins still pass."""
    limited_origin = bare_worker.allowed_origins[1]
    for n in range(bare_worker.rate_limit):
        response = _post_log(bare_worker, {"level": "info", "message": f"burst {n}"}, origin=limited_origin)
        assert response.status_code == 202, response.text
        assert response.headers["X-RateLimit-Remaining"] == str(bare_worker.rate_limit - n - 1)

    limited = _post_log(bare_worker, {"level": "info", "message": "one too many"}, origin=limited_origin)
    assert limited.status_code == 429
    assert limited.json()["error"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert limited.headers["Access-Control-Allow-Origin"] == limited_origin

    other = _post_log(bare_worker, {"level": "info", "message": "another origin"}, origin=APP_ORIGIN)
    assert other.status_code == 202
