"""The example Worker's /health under workerd: the shape of contract item 4, and degradation."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
import requests

from deploycheck.verify import read_health

if TYPE_CHECKING:
    from conftest import RunningWorker

pytestmark = pytest.mark.requires_wrangler

HEALTH_KEYS = {"status", "version", "state_version", "expected_state_version", "reason", "checks"}


def _code_expected_state_version(worker: RunningWorker) -> int:
    source = (worker.dev.worker_dir / "src" / "index.js").read_text(encoding="utf-8")
    match = re.search(r"^const EXPECTED_STATE_VERSION = (\d+);$", source, re.MULTILINE)
    assert match, "src/index.js must declare `const EXPECTED_STATE_VERSION = <n>;` on one line"
    return int(match.group(1))


def test_health_is_healthy_with_every_setting(full_worker: RunningWorker) -> None:
    """With Redis configured and a fresh Durable Object the Worker reports healthy, state at the expected version."""
    response = requests.get(f"{full_worker.url}/health", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == HEALTH_KEYS
    assert body["status"] == "healthy"
    assert body["reason"] is None
    assert body["checks"] == {"durable_object": "ok", "redis": "ok"}
    assert isinstance(body["version"], str)
    assert body["version"]
    assert body["expected_state_version"] == _code_expected_state_version(full_worker) == 2
    assert body["state_version"] == 2


def test_health_parses_with_the_shared_probe(full_worker: RunningWorker) -> None:
    """deploycheck's own health probe reads the real Worker's answer field by field."""
    result = read_health(full_worker.url)
    assert result.error is None
    assert result.http_status == 200
    assert result.status == "healthy"
    assert result.state_version == result.expected_state_version == 2
    assert result.version


def test_health_is_degraded_without_redis_settings(bare_worker: RunningWorker) -> None:
    """Without UPSTASH_REDIS_REST_URL/TOKEN the Worker answers 200 degraded and names the missing settings."""
    response = requests.get(f"{bare_worker.url}/health", timeout=10)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == HEALTH_KEYS
    assert body["status"] == "degraded"
    assert body["checks"] == {"durable_object": "ok", "redis": "not_configured"}
    assert "UPSTASH_REDIS_REST_URL" in body["reason"]
    assert body["state_version"] == 2


def test_health_refuses_writes(full_worker: RunningWorker) -> None:
    """/health answers 405 with an Allow header to anything but GET and HEAD."""
    response = requests.post(f"{full_worker.url}/health", timeout=10)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD"


def test_unknown_path_is_404(full_worker: RunningWorker) -> None:
    """An unknown path answers a JSON 404."""
    response = requests.get(f"{full_worker.url}/nope", timeout=10)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_health_is_unhealthy_without_the_durable_object(unbound_worker: RunningWorker) -> None:
    """A deployment whose rate-limiter Durable Object is unavailable answers 503 unhealthy with the same shape."""
    response = requests.get(f"{unbound_worker.url}/health", timeout=10)
    assert response.status_code == 503
    body = response.json()
    assert set(body) == HEALTH_KEYS
    assert body["status"] == "unhealthy"
    assert body["checks"] == {"durable_object": "error", "redis": "ok"}
    assert body["state_version"] is None
    assert body["expected_state_version"] == 2
    assert "Durable Object" in body["reason"]


def test_logs_fail_closed_without_the_durable_object(unbound_worker: RunningWorker) -> None:
    """Without the rate limiter a log is not accepted unthrottled: the Worker answers 500."""
    response = requests.post(
        f"{unbound_worker.url}/logs",
        json={"level": "info", "message": "hello"},
        headers={"Origin": "https://app.example.com"},
        timeout=10,
    )
    assert response.status_code == 500
    assert response.json() == {"error": "internal_error"}
