"""The log-ingestion Worker data plane of the sandbox: health, logs, CORS, rate limit."""

from __future__ import annotations

import json

import pytest
import requests

pytestmark = pytest.mark.sandbox

APP = "https://app.example.com"


def test_health_reports_the_active_version_and_state_versions(sandbox, cf):
    """/health names the deployed version, the stored and the expected state version."""
    body = requests.get(f"{sandbox.worker_url}/health", timeout=5).json()
    assert body["status"] == "healthy"
    assert body["version"] == cf.deployments()[0]["versions"][0]["version_id"]
    assert (body["state_version"], body["expected_state_version"]) == (2, 2)
    assert body["reason"] is None
    assert body["checks"] == {"durable_object": "ok", "redis": "ok"}


def test_health_after_rollback_past_a_migration_explains_the_gap(sandbox, cf):
    """Rolled back to state-1 code, /health stays healthy but reports 2 > 1 with a reason."""
    first = next(v for v in cf.versions() if v["number"] == 1)
    body = {"strategy": "percentage", "versions": [{"version_id": first["id"], "percentage": 100}]}
    cf.result("POST", f"{cf.script()}/deployments", json=body)
    health = requests.get(f"{sandbox.worker_url}/health", timeout=5).json()
    assert health["version"] == first["id"]
    assert (health["state_version"], health["expected_state_version"]) == (2, 1)
    assert health["status"] == "healthy"
    assert "rolled back" in health["reason"]


@pytest.mark.parametrize(("health", "status"), [("degraded", 200), ("unhealthy", 503)])
def test_health_fault_changes_the_reported_status(sandbox, sandbox_admin, health, status):
    """A health fault makes /health degraded (200) or unhealthy (503) with a reason."""
    sandbox_admin.fault(service="worker", health=health, count=1)
    response = requests.get(f"{sandbox.worker_url}/health", timeout=5)
    assert response.status_code == status
    assert response.json()["status"] == health
    assert response.json()["reason"]
    assert requests.get(f"{sandbox.worker_url}/health", timeout=5).json()["status"] == "healthy"


@pytest.mark.parametrize("origin", [APP, "PAGES"])
def test_logs_from_allowed_origins_are_accepted_with_cors(sandbox, origin):
    """POST /logs from the app or the sandbox site origin answers 202 with CORS headers and is listed."""
    origin = sandbox.pages_url if origin == "PAGES" else origin
    log = {"level": "info", "message": "hello", "extra": 1}
    response = requests.post(f"{sandbox.worker_url}/logs", json=log, headers={"Origin": origin}, timeout=5)
    assert response.status_code == 202
    body = response.json()
    assert body["accepted"] is True and body["log"] == log and body["id"]
    assert response.headers["Access-Control-Allow-Origin"] == origin
    listed = requests.get(f"{sandbox.worker_url}/logs", timeout=5).json()["logs"]
    assert [entry["id"] for entry in listed] == [body["id"]]


def test_logs_from_other_origins_and_bad_bodies_are_refused(sandbox):
    """A foreign origin gets 403 without CORS headers; a log without level/message gets 400."""
    foreign = requests.post(f"{sandbox.worker_url}/logs", json={"level": "info", "message": "x"},
                            headers={"Origin": "https://evil.example"}, timeout=5)
    assert foreign.status_code == 403
    assert "Access-Control-Allow-Origin" not in foreign.headers
    bad = requests.post(f"{sandbox.worker_url}/logs", data=json.dumps({"level": 1}),
                        headers={"Origin": APP}, timeout=5)
    assert bad.status_code == 400


def test_preflight(sandbox):
    """OPTIONS /logs from an allowed origin answers 204 with the allowed method and headers."""
    response = requests.options(f"{sandbox.worker_url}/logs", headers={
        "Origin": APP, "Access-Control-Request-Method": "POST"}, timeout=5)
    assert response.status_code == 204
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Allow-Origin"] == APP
    denied = requests.options(f"{sandbox.worker_url}/logs", headers={"Origin": "https://evil.example"}, timeout=5)
    assert denied.status_code == 403


def test_allowed_origins_var_adds_origins(sandbox, cf):
    """An ALLOWED_ORIGINS plain var on the deployed version allows its origins too."""
    cf.result("PATCH", f"{cf.script()}/settings", json={"bindings": [
        {"type": "plain_text", "name": "ALLOWED_ORIGINS", "text": "https://other.example, https://x.example"}],
        "keep_bindings": ["durable_object_namespace"]})
    response = requests.post(f"{sandbox.worker_url}/logs", json={"level": "info", "message": "x"},
                             headers={"Origin": "https://x.example"}, timeout=5)
    assert response.status_code == 202


def test_rate_limit_per_origin(sandbox, cf):
    """After RATE_LIMIT_PER_MINUTE logs from one origin the next answers 429 with Retry-After."""
    cf.result("PATCH", f"{cf.script()}/settings", json={"bindings": [
        {"type": "plain_text", "name": "RATE_LIMIT_PER_MINUTE", "text": "5"}],
        "keep_bindings": ["durable_object_namespace"]})
    session = requests.Session()
    statuses = [
        session.post(f"{sandbox.worker_url}/logs", json={"level": "info", "message": str(i)},
                     headers={"Origin": APP}, timeout=5).status_code
        for i in range(6)
    ]
    assert statuses == [202] * 5 + [429]
    limited = session.post(f"{sandbox.worker_url}/logs", json={"level": "info", "message": "x"},
                           headers={"Origin": APP}, timeout=5)
    assert int(limited.headers["Retry-After"]) >= 1
    other = session.post(f"{sandbox.worker_url}/logs", json={"level": "info", "message": "x"},
                         headers={"Origin": sandbox.pages_url}, timeout=5)
    assert other.status_code == 202


def test_default_rate_limit_is_sixty_per_minute(sandbox):
    """Without the var, the 61st log of a minute from one origin is refused."""
    session = requests.Session()
    statuses = [
        session.post(f"{sandbox.worker_url}/logs", json={"level": "info", "message": str(i)},
                     headers={"Origin": APP}, timeout=5).status_code
        for i in range(61)
    ]
    assert statuses.count(202) == 60
    assert statuses[-1] == 429
