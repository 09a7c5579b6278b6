"""The web app on Cloudflare Pages: it answers, serves the expected build, fast, with a valid certificate.

Ids read ``test_pages_answers[production-app-web]``. The page and the active deployment
are read once per session (the ``pages`` fixture) and shared by every check here.
"""

from __future__ import annotations

import pytest

from deploycheck.verify import checkers

pytestmark = pytest.mark.platform("cloudflare-pages")


def _where(target) -> str:
    return f"{target.platform} {target.resource}"


def test_pages_answers(target, pages, judge) -> None:
    """The app URL answers HTTP 200."""
    judge(checkers.page_answers(pages.page, _where(target)))


def test_pages_content_marker(target, pages, target_checks, judge) -> None:
    """The page contains the expected content marker (checks.pages.marker)."""
    judge(checkers.content_marker(pages.page, target_checks.marker, _where(target)))


def test_pages_response_time(target, pages, target_checks, judge) -> None:
    """The page answers under the warn threshold (WARN above it, FAIL above the fail threshold)."""
    if pages.page.error:
        pytest.fail(pages.page.describe(), pytrace=False)
    limits = target_checks
    judge(checkers.response_time(pages.page.elapsed_ms, limits.warn_ms, limits.fail_ms, pages.url))


def test_pages_expected_deployment(target, pages, expected, judge) -> None:
    """The active production deployment is the expected commit or deployment id, when one is given."""
    if not expected.commit and not expected.pages_deployment:
        pytest.skip("no expectation given (--expect-commit, GITHUB_SHA or --expect-pages-deployment)")
    active = _active(pages)
    verdict = checkers.expected_pages_deployment(
        active, commit=expected.commit, deployment_id=expected.pages_deployment, where=_where(target)
    )
    judge(verdict)


def test_pages_serves_active_deployment(target, pages, dc_poll, judge) -> None:
    """The site serves the API's active deployment (its meta tag), polling while the edge updates."""
    from deploycheck.verify import fetch_page

    active = _active(pages)
    first = iter([pages.page])  # the session's read is the first attempt

    def served(page):
        return checkers.served_deployment(page, active, _where(target))

    result = dc_poll(
        lambda: next(first, None) or fetch_page(pages.url), lambda page: served(page).outcome != "fail"
    )
    judge(checkers.polled(result, served(result.value)))


def test_pages_certificate(target, pages, dc_state, target_checks, judge) -> None:
    """For an https app URL, the TLS certificate is valid for more than checks.pages.cert_warn_days."""
    if not pages.url.startswith("https://"):
        pytest.skip(f"{pages.url} is not https: no certificate to check")
    days, error = dc_state.certificate(pages.url)
    judge(checkers.certificate(pages.url, days, error, target_checks.cert_warn_days, _where(target)))


def _active(pages):
    """The active deployment, skipping when the API cannot be read without credentials."""
    reason = pages.active_read.unavailable
    if reason is not None:
        pytest.skip(f"active deployment not checked: {reason}")
    if pages.active_read.error is not None:
        pytest.fail(f"cloudflare-pages: {pages.active_read.message}", pytrace=False)
    return pages.active
