"""Fixtures for adapter unit tests: recorded vendor payloads replayed with ``responses``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import responses

from deploycheck.http import HttpClient
from deploycheck.redact import redactor

RECORDED = Path(__file__).resolve().parents[2] / "fixtures" / "recorded"
ACCOUNT = "023e105f4ecef8ad9ca31a8372d0c353"
CF = f"https://api.cloudflare.com/client/v4/accounts/{ACCOUNT}"
CONVEX_URL = "https://prod-graceful-shrimp-355.convex.cloud"
GITHUB_ENV = "https://api.github.com/repos/example/app/environments/production"


class FakeTime:
    """A clock that only moves when the client sleeps, recording every wait."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        """Record the wait and move the clock on."""
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        """The current fake time."""
        return self.now

    def install(self, client: HttpClient) -> HttpClient:
        """Make ``client`` wait on this clock."""
        client.sleep = self.sleep
        client.clock = self.clock
        return client


@pytest.fixture(autouse=True)
def _restore_redactor() -> Iterator[None]:
    """Adapters register credentials with the process-wide redactor; undo that after each test."""
    saved = (set(redactor._secrets), set(redactor._short))
    yield
    redactor.clear()
    redactor.add_many([*saved[0], *saved[1]])


@pytest.fixture
def fake_time() -> FakeTime:
    """A fake clock for retry tests, so no test waits for real."""
    return FakeTime()


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    """A responses mock that fails the test on any unregistered request."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def recorded(mocked: responses.RequestsMock) -> Callable[[str], responses.RequestsMock]:
    """Load ``fixtures/recorded/<name>.yaml`` into the mock and return it."""

    def load(name: str) -> responses.RequestsMock:
        mocked._add_from_file(RECORDED / f"{name}.yaml")
        return mocked

    return load


@pytest.fixture
def cf_environ() -> dict[str, str]:
    """Cloudflare credentials for the recorded account."""
    return {"CLOUDFLARE_API_TOKEN": "cf-token-unit-test-0123456789", "CLOUDFLARE_ACCOUNT_ID": ACCOUNT}


def cf_error(code: int, message: str) -> dict[str, Any]:
    """A Cloudflare failure envelope."""
    return {"success": False, "errors": [{"code": code, "message": message}], "messages": [], "result": None}


def cf_ok(result: Any, **extra: Any) -> dict[str, Any]:
    """A Cloudflare success envelope."""
    return {"success": True, "errors": [], "messages": [], "result": result, **extra}
