"""The rate-limiter Durable Object's versioned state under workerd: newer state after a rollback, migration."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
import requests

if TYPE_CHECKING:
    from conftest import RunningWorker

APP_ORIGIN = "https://app.example.com"

pytestmark = pytest.mark.requires_wrangler


def _set_state_version(
    worker: RunningWorker, body: dict[str, object], token: str | None = None
) -> requests.Response:
    token = worker.admin_token if token is None else token
    return requests.post(
        f"{worker.url}/__admin/state-version",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


@pytest.fixture
def restore_state(full_worker: RunningWorker) -> Iterator[RunningWorker]:
    """Put the Durable Object back to the code's state version after the test."""
    yield full_worker
    response = _set_state_version(full_worker, {"version": 2})
    assert response.status_code == 200, response.text


def test_newer_state_is_reported(restore_state: RunningWorker) -> None:
    """State left at version 3 by newer code is reported as is, with a reason, and the Worker keeps serving."""
    worker = restore_state
    response = _set_state_version(worker, {"version": 3})
    assert response.status_code == 200
    assert response.json() == {"state_version": 3, "expected_state_version": 2}

    health = requests.get(f"{worker.url}/health", timeout=10)
    assert health.status_code == 200
    body = health.json()
    assert body["state_version"] == 3
    assert body["expected_state_version"] == 2
    assert body["status"] == "healthy"
    assert "newer" in body["reason"]
    assert body["checks"]["durable_object"] == "ok"

    accepted = requests.post(
        f"{worker.url}/logs",
        json={"level": "warn", "message": "after rollback"},
        headers={"Origin": APP_ORIGIN},
        timeout=10,
    )
    assert accepted.status_code == 202
    listed = requests.get(f"{worker.url}/logs", timeout=10).json()["logs"]
    assert listed[0]["id"] == accepted.json()["id"]
    again = requests.get(f"{worker.url}/health", timeout=10).json()
    assert again["state_version"] == 3


def test_version_one_state_is_migrated(restore_state: RunningWorker) -> None:
    """Version 1 state (one legacy logs array) is migrated to version 2 records on first use."""
    worker = restore_state
    legacy = [
        {"level": "warn", "message": "legacy first", "ts": 1_700_000_000_000},
        {"level": "error", "message": "legacy second", "source": "web", "ts": 1_700_000_060_000},
    ]
    response = _set_state_version(worker, {"version": 1, "legacy_logs": legacy})
    assert response.status_code == 200

    health = requests.get(f"{worker.url}/health", timeout=10).json()
    assert health["state_version"] == 2
    assert health["reason"] is None

    listed = requests.get(f"{worker.url}/logs", timeout=10).json()["logs"]
    assert [log["message"] for log in listed] == ["legacy second", "legacy first"]
    assert listed[0]["source"] == "web"
    assert listed[0]["received_at"] == "2023-11-14T22:14:20.000Z"
    assert all(log["id"] for log in listed)


def test_admin_route_needs_the_token(full_worker: RunningWorker) -> None:
    """The admin route answers 401 to a wrong bearer token and leaves the state alone."""
    response = _set_state_version(full_worker, {"version": 7}, token="wrong-token")
    assert response.status_code == 401
    assert requests.get(f"{full_worker.url}/health", timeout=10).json()["state_version"] == 2


@pytest.mark.parametrize("version", [0, -1, "3", 2.5, None])
def test_admin_route_rejects_bad_versions(full_worker: RunningWorker, version: object) -> None:
    """The admin route answers 400 to a version that is not an integer >= 1."""
    response = _set_state_version(full_worker, {"version": version})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_version"


def test_admin_route_absent_without_token(bare_worker: RunningWorker) -> None:
    """Without ADMIN_TOKEN the admin route does not exist (404)."""
    response = requests.post(
        f"{bare_worker.url}/__admin/state-version",
        json={"version": 3},
        headers={"Authorization": "Bearer anything"},
        timeout=10,
    )
    assert response.status_code == 404
