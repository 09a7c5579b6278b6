"""Fixtures that run the example log-ingestion Worker under workerd (``wrangler dev --local``).

Worker processes serve the whole session: ``full_worker`` with every secret set,
``bare_worker`` without the Redis settings or ADMIN_TOKEN and with a rate limit of 3 per
minute, and ``unbound_worker`` (started only by the test that needs it) from a config
without the Durable Object binding. Tests marked ``requires_wrangler`` are skipped when wrangler is not installed in
fixtures/example/worker, unless DEPLOYCHECK_REQUIRE_WRANGLER=1 (the tox env sets it), in
which case the missing install is an error.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from deploycheck.workerd import WranglerDev, find_wrangler, install_command

REPO = Path(__file__).resolve().parents[2]
WORKER_DIR = REPO / "fixtures" / "example" / "worker"
APP_ORIGIN = "https://app.example.com"
#: a second allowed origin of the bare Worker, used up by the rate-limit test alone
LIMITED_ORIGIN = "https://ratelimit.example.com"
BARE_RATE_LIMIT = 3
REDIS_URL = "https://eu1-example-12345.upstash.io"
HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class RunningWorker:
    """A started Worker: its base URL and the admin token it accepts (None when disabled)."""

    dev: WranglerDev
    admin_token: str | None
    rate_limit: int
    allowed_origins: tuple[str, ...]

    @property
    def url(self) -> str:
        """The Worker's base URL."""
        return self.dev.url


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker of tests that need wrangler and workerd."""
    config.addinivalue_line(
        "markers", "requires_wrangler: the test runs the Worker under wrangler dev (workerd)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip this directory's wrangler tests, with the install command, when wrangler is absent."""
    if find_wrangler(WORKER_DIR) is not None or os.environ.get("DEPLOYCHECK_REQUIRE_WRANGLER") == "1":
        return
    skip = pytest.mark.skip(
        reason=f"wrangler is not installed in {WORKER_DIR / 'node_modules'}: run `{install_command(WORKER_DIR)}`"
    )
    for item in items:
        if item.path.is_relative_to(HERE) and item.get_closest_marker("requires_wrangler"):
            item.add_marker(skip)


def _run(dev: WranglerDev, admin_token: str | None) -> Iterator[RunningWorker]:
    origins = tuple(dev.vars["ALLOWED_ORIGINS"].split(","))
    rate_limit = int(dev.vars["RATE_LIMIT_PER_MINUTE"])
    dev.start()
    try:
        yield RunningWorker(dev=dev, admin_token=admin_token, rate_limit=rate_limit, allowed_origins=origins)
    finally:
        dev.stop()


@pytest.fixture(scope="session")
def full_worker() -> Iterator[RunningWorker]:
    """The Worker with Redis settings and ADMIN_TOKEN configured, rate limit 60 per minute."""
    admin_token = secrets.token_urlsafe(24)
    dev = WranglerDev(
        WORKER_DIR,
        vars={
            "ALLOWED_ORIGINS": APP_ORIGIN,
            "RATE_LIMIT_PER_MINUTE": "60",
            "LOG_LEVEL": "info",
            # an address, not a credential: registered as a secret it would mask pieces of "https://"
            "UPSTASH_REDIS_REST_URL": REDIS_URL,
        },
        secrets={
            "UPSTASH_REDIS_REST_TOKEN": secrets.token_urlsafe(24),
            "ADMIN_TOKEN": admin_token,
        },
    )
    yield from _run(dev, admin_token)


@pytest.fixture(scope="session")
def bare_worker() -> Iterator[RunningWorker]:
    """The Worker without Redis settings or ADMIN_TOKEN, rate limit 3 per minute."""
    dev = WranglerDev(
        WORKER_DIR,
        vars={
            "ALLOWED_ORIGINS": f"{APP_ORIGIN},{LIMITED_ORIGIN}",
            "RATE_LIMIT_PER_MINUTE": str(BARE_RATE_LIMIT),
            "LOG_LEVEL": "info",
        },
    )
    yield from _run(dev, None)


#: the Worker deployed without its Durable Object binding (a broken wrangler.toml)
UNBOUND_CONFIG = """\
name = "log-ingestion-unbound"
main = "src/index.js"
compatibility_date = "2025-09-01"

[vars]
ALLOWED_ORIGINS = "https://app.example.com"
"""


@pytest.fixture(scope="session")
def unbound_worker() -> Iterator[RunningWorker]:
    """The Worker started from a config that lacks the RATE_LIMITER Durable Object binding."""
    dev = WranglerDev(
        WORKER_DIR,
        vars={
            "ALLOWED_ORIGINS": APP_ORIGIN,
            "RATE_LIMIT_PER_MINUTE": "60",
            "UPSTASH_REDIS_REST_URL": REDIS_URL,
        },
        secrets={"UPSTASH_REDIS_REST_TOKEN": secrets.token_urlsafe(24)},
        config_text=UNBOUND_CONFIG,
    )
    yield from _run(dev, None)
