"""The log-ingestion Worker: healthy, running the expected code, state in step, newest version active.

Ids read ``test_worker_health[production-log-ingestion]``. ``/health`` is read once per
session (``worker_health``); the API-dependent checks skip with the reason when
CLOUDFLARE_API_TOKEN is absent (e.g. a local ``wrangler dev`` in development).
"""

from __future__ import annotations

import pytest

from deploycheck.verify import checkers, split

pytestmark = pytest.mark.platform("cloudflare-worker")


def _where(target) -> str:
    return f"{target.platform} {target.resource}"


def test_worker_health(target, worker_health, judge) -> None:
    """GET /health says healthy (degraded = WARN, anything else or no answer = FAIL, with the reason)."""
    judge(checkers.worker_health(worker_health, _where(target)))


def test_worker_response_time(target, worker_health, target_checks, judge) -> None:
    """/health answers under the warn threshold (WARN above it, FAIL above the fail threshold)."""
    if worker_health.error:
        pytest.fail(f"{_where(target)}: {worker_health.reason}", pytrace=False)
    limits = target_checks
    judge(checkers.response_time(worker_health.elapsed_ms, limits.warn_ms, limits.fail_ms, worker_health.url))


def test_worker_version(target, worker_health, worker_api, expected, judge) -> None:
    """The code version /health reports is the API's active version and --expect-worker-version
    (during a split: WARN naming both versions and their percentages)."""
    view, read = worker_api
    if view is not None and view.split is not None:
        reported, wanted = worker_health.version, expected.worker_version
        judge(split.split_worker_version(view.split, reported, wanted, _where(target)))
        return
    verdict = checkers.expected_worker_version(
        worker_health,
        api_version=view.active_version if view is not None else None,
        api_note=read.unavailable or read.message or None,
        expected=expected.worker_version,
        where=_where(target),
    )
    if view is None and read.unavailable is None and read.error is not None:
        pytest.fail(f"{_where(target)}: {read.message}", pytrace=False)
    judge(verdict)


def test_worker_state_version(target, worker_health, worker_api, target_checks, judge) -> None:
    """The Durable Object state version is what the code expects (newer = WARN, older = FAIL); during a
    split, the state version each version expects (WARN, FAIL when a serving version cannot read it)."""
    view, _read = worker_api
    if view is not None and view.split is not None and not worker_health.error:
        expected = target_checks.expected_state_version
        url, where = worker_health.url, _where(target)
        judge(split.split_state_versions_now(view.split, url, target.resource, expected, where))
        return
    judge(
        checkers.worker_state_version(worker_health, target_checks.expected_state_version, _where(target))
    )


def test_worker_active_deployment(target, worker_deployments, judge) -> None:
    """The active deployment serves the newest version, unless a rollback is in effect (WARN)."""
    verdict = checkers.worker_active_deployment(
        worker_deployments.deployments, worker_deployments.newest_version, _where(target)
    )
    judge(verdict)
