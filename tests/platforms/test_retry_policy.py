"""The retry and backoff policy as a caller sees it: how long each wait is, when it gives up, what it says."""

from __future__ import annotations

import email.utils
import urllib.error

import pytest
import requests
import responses
import urllib3

from deploycheck.errors import PlatformError, PlatformUnavailable, RateLimitedError
from deploycheck.http import (
    BACKOFF_BASE,
    BACKOFF_MAX,
    HttpClient,
    HttpSettings,
    backoff_wait,
    exhausted_error,
    nothing_sent,
    parse_retry_after,
    rate_limit_wait,
)

from .conftest import FakeTime

BASE = "https://api.example.test/v1"
JITTER = 1.2  # each computed wait is stretched by a random factor in [1, 1.2]


def _client(fake_time: FakeTime, *, retries: int = 3, budget: float = 30.0) -> HttpClient:
    return fake_time.install(
        HttpClient(platform="example", base_url=BASE, settings=HttpSettings(retries=retries, budget=budget))
    )


def _failure(status: int | None = 503, hint: str = "") -> PlatformUnavailable:
    return PlatformUnavailable(
        "the service is down", platform="convex", operation="list variables", status=status,
        code="E42", hint=hint,
    )  # fmt: skip


def test_backoff_doubles_from_half_a_second(mocked: responses.RequestsMock, fake_time: FakeTime) -> None:
    """Without Retry-After the waits grow 0.5 s, 1 s, 2 s, 4 s, each stretched by at most 20 % jitter."""
    mocked.get(f"{BASE}/x", status=503)
    with pytest.raises(PlatformUnavailable):
        _client(fake_time, retries=4, budget=100.0).request("GET", "/x", operation="read x")
    assert len(fake_time.sleeps) == 4
    for n, wait in enumerate(fake_time.sleeps):
        assert BACKOFF_BASE * 2**n <= wait <= BACKOFF_BASE * 2**n * JITTER, (n, wait)


def test_backoff_jitter_spreads_the_waits() -> None:
    """Successive waits for the same attempt differ (jitter), staying within 20 % above the base wait."""
    waits = [backoff_wait(_failure(), None, 1, 100.0, 100.0) for _ in range(40)]
    assert all(1.0 <= w <= 1.0 * JITTER for w in waits)
    assert len(set(waits)) > 1
    assert max(waits) - min(waits) > 0.05


def test_backoff_is_capped_at_eight_seconds(mocked: responses.RequestsMock, fake_time: FakeTime) -> None:
    """Past 8 s the exponential wait stops growing: the sixth and seventh waits are 8 s (plus jitter)."""
    mocked.get(f"{BASE}/x", status=503)
    with pytest.raises(PlatformUnavailable):
        _client(fake_time, retries=7, budget=1000.0).request("GET", "/x", operation="read x")
    assert BACKOFF_MAX == 8.0
    assert len(fake_time.sleeps) == 7
    assert 4.0 <= fake_time.sleeps[3] <= 4.0 * JITTER
    for wait in fake_time.sleeps[4:]:
        assert BACKOFF_MAX <= wait <= BACKOFF_MAX * JITTER


def test_429_without_retry_after_waits_at_least_a_second(
    mocked: responses.RequestsMock, fake_time: FakeTime
) -> None:
    """A 429 with no Retry-After waits one full second before the first retry, not the 0.5 s backoff."""
    mocked.get(f"{BASE}/x", status=429, json={"message": "slow down"})
    mocked.get(f"{BASE}/x", json={"ok": True})
    assert _client(fake_time).request("GET", "/x", operation="read x").json() == {"ok": True}
    assert fake_time.sleeps == [1.0]


def test_429_minimum_does_not_shorten_longer_backoff(
    mocked: responses.RequestsMock, fake_time: FakeTime
) -> None:
    """The one-second minimum of a 429 only lifts short waits: the third wait is still about 2 s."""
    mocked.get(f"{BASE}/x", status=429)
    with pytest.raises(RateLimitedError):
        _client(fake_time, retries=3, budget=100.0).request("GET", "/x", operation="read x")
    assert fake_time.sleeps[0] == 1.0
    assert 1.0 <= fake_time.sleeps[1] <= JITTER
    assert 2.0 <= fake_time.sleeps[2] <= 2.0 * JITTER


def test_5xx_wait_has_no_one_second_minimum() -> None:
    """Only a 429 gets the one-second minimum: the first wait after a 503 stays near half a second."""
    assert BACKOFF_BASE <= backoff_wait(_failure(503), None, 0, 30.0, 30.0) <= BACKOFF_BASE * JITTER
    assert backoff_wait(_failure(429), None, 0, 30.0, 30.0) == 1.0


def test_retry_after_is_used_as_is() -> None:
    """A Retry-After value is the wait, with no backoff or jitter added."""
    assert backoff_wait(_failure(429), 3.0, 2, 30.0, 30.0) == 3.0
    assert backoff_wait(_failure(503), 0.0, 0, 30.0, 30.0) == 0.0


def test_over_budget_error_is_retryable_with_a_hint() -> None:
    """A wait past the budget fails at once, keeping type, platform, status and code, retryable, with a next step."""
    with pytest.raises(PlatformUnavailable) as info:
        backoff_wait(_failure(503), 40.0, 0, 12.0, 30.0)
    error = info.value
    assert type(error) is PlatformUnavailable
    assert error.detail == "the service is down; waiting 40 s would exceed the 30 s retry budget"
    assert (error.platform, error.operation, error.status, error.code) == ("convex", "list variables", 503, "E42")
    assert error.retryable is True
    assert error.hint == "try again later"
    assert str(error).endswith("Next step: try again later")


def test_over_budget_error_keeps_the_platforms_own_hint() -> None:
    """A failure that already has a next step keeps it when the budget runs out."""
    with pytest.raises(PlatformUnavailable) as info:
        backoff_wait(_failure(503, hint="check the Convex status page"), 40.0, 0, 12.0, 30.0)
    assert info.value.hint == "check the Convex status page"


def test_over_budget_error_keeps_the_transport_cause() -> None:
    """The over-budget error is chained to the failure's own cause (the transport exception)."""
    failure = _failure(None)
    failure.__cause__ = ConnectionResetError("reset by peer")
    with pytest.raises(PlatformUnavailable) as info:
        backoff_wait(failure, 50.0, 0, 10.0, 30.0)
    assert info.value.__cause__ is failure.__cause__


def test_wait_equal_to_what_is_left_is_refused() -> None:
    """A wait exactly as long as the rest of the budget is refused (the retry would start past it)."""
    with pytest.raises(PlatformUnavailable, match="retry budget"):
        backoff_wait(_failure(503), 5.0, 0, 5.0, 30.0)
    assert backoff_wait(_failure(503), 4.9, 0, 5.0, 30.0) == 4.9


def test_budget_exhausted_by_backoff_names_the_budget(mocked: responses.RequestsMock, fake_time: FakeTime) -> None:
    """Through the client, backoff that would pass a 3 s budget ends with the over-budget error after the last wait that fits."""
    mocked.get(f"{BASE}/x", status=503)
    with pytest.raises(PlatformUnavailable, match=r"would exceed the 3 s retry budget") as info:
        _client(fake_time, retries=10, budget=3.0).request("GET", "/x", operation="read x")
    assert info.value.retryable is True
    assert sum(fake_time.sleeps) < 3.0
    assert len(fake_time.sleeps) == 2  # 0.5 s + 1 s fit; the 2 s wait would not


def test_exhausted_error_says_how_many_retries(mocked: responses.RequestsMock, fake_time: FakeTime) -> None:
    """After the last retry the error says "still failing after 3 retries", keeps status and stays retryable."""
    mocked.get(f"{BASE}/x", status=503, json={"message": "down"})
    with pytest.raises(PlatformUnavailable) as info:
        _client(fake_time).request("GET", "/x", operation="read x")
    error = info.value
    assert error.detail.endswith("(still failing after 3 retries)")
    assert error.status == 503
    assert error.retryable is True
    assert "example: read x failed:" in str(error)


def test_exhausted_error_wording_for_one_retry() -> None:
    """One retry reads "after 1 retry" (singular), with the failure's platform, operation, code and hint."""
    error = exhausted_error(_failure(503, hint="look at the status page"), 1)
    assert type(error) is PlatformUnavailable
    assert error.detail == "the service is down (still failing after 1 retry)"
    assert (error.platform, error.operation, error.status, error.code) == ("convex", "list variables", 503, "E42")
    assert error.hint == "look at the status page"
    assert error.retryable is True


def test_exhausted_error_wording_for_two_retries() -> None:
    """Two retries read "after 2 retries" (plural)."""
    assert exhausted_error(_failure(), 2).detail == "the service is down (still failing after 2 retries)"


def test_no_retry_made_reports_the_failure_unchanged() -> None:
    """With no retry made (retries set to 0) the original failure is reported as it was."""
    failure = _failure()
    assert exhausted_error(failure, 0) is failure


def test_zero_retries_setting_sends_once(mocked: responses.RequestsMock, fake_time: FakeTime) -> None:
    """With DEPLOYCHECK_HTTP_RETRIES=0 a 503 is reported after one request, without "still failing"."""
    mocked.get(f"{BASE}/x", status=503)
    with pytest.raises(PlatformUnavailable) as info:
        _client(fake_time, retries=0).request("GET", "/x", operation="read x")
    assert "still failing" not in str(info.value)
    assert len(mocked.calls) == 1
    assert fake_time.sleeps == []


@pytest.mark.parametrize(("header", "seconds"), [("0", 0.0), ("-5", 0.0), (" 7 ", 7.0), ("1.5", 1.5)])
def test_retry_after_seconds(header: str, seconds: float) -> None:
    """Retry-After in seconds is read as given, a negative value as no wait at all."""
    assert parse_retry_after(header) == seconds


def test_retry_after_http_date() -> None:
    """An HTTP-date Retry-After is the time left until that date, and zero once it has passed."""
    now = 1_700_000_000.0
    later = email.utils.formatdate(now + 10, usegmt=True)
    earlier = email.utils.formatdate(now - 10, usegmt=True)
    assert parse_retry_after(later, now=now) == pytest.approx(10.0)
    assert parse_retry_after(earlier, now=now) == 0.0


@pytest.mark.parametrize("header", [None, "", "soon", "Mon, 99 Foo 2024"])
def test_retry_after_unreadable_is_ignored(header: str | None) -> None:
    """A missing or unreadable Retry-After means "use the backoff" (None)."""
    assert parse_retry_after(header) is None


def test_refused_connection_counts_as_nothing_sent() -> None:
    """A refused connection, however deeply requests wraps it, means nothing was sent."""
    refused = urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection")  # type: ignore[arg-type]
    wrapped = urllib3.exceptions.MaxRetryError(None, "/x", refused)  # type: ignore[arg-type]
    assert nothing_sent(requests.exceptions.ConnectionError(wrapped))
    assert nothing_sent(ConnectionRefusedError(111, "refused"))


def test_refused_connection_found_through_cause_and_context() -> None:
    """The refusal is found in an exception's __cause__ or __context__ chain too."""
    outer = RuntimeError("outer")
    outer.__cause__ = ConnectionRefusedError(111, "refused")
    assert nothing_sent(outer)
    other = RuntimeError("other")
    other.__context__ = urllib.error.URLError(ConnectionRefusedError(111, "refused"))
    assert nothing_sent(other)


def test_dropped_connection_is_not_nothing_sent() -> None:
    """A connection reset or a lost answer may have delivered the request: not "nothing sent"."""
    reset = requests.exceptions.ConnectionError(urllib3.exceptions.ProtocolError("aborted", ConnectionResetError()))
    assert not nothing_sent(reset)
    assert not nothing_sent(PlatformError("x", platform="p", operation="o"))


def test_exception_cycle_does_not_hang() -> None:
    """An exception chain that loops back on itself is walked once and answered."""
    first, second = RuntimeError("a"), RuntimeError("b")
    first.__context__, second.__context__ = second, first
    assert not nothing_sent(first)


def test_retry_after_http_date_against_the_real_clock() -> None:
    """Without an explicit ``now`` an HTTP-date is measured from the current time."""
    import time

    later = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert 50.0 <= (parse_retry_after(later) or 0.0) <= 60.0


# -- rate limits that name their wait (GitHub's secondary limits, Cloudflare's 429) ----------------


def test_rate_limit_wait_prefers_retry_after() -> None:
    """Retry-After wins over a reset time; either header alone is read; neither gives None."""
    now = 1_000_000.0
    both = {"retry-after": "7", "x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(now + 50))}
    assert rate_limit_wait(both, now=now) == 7.0
    assert rate_limit_wait({"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(now + 50))}, now=now) == 50.0
    assert rate_limit_wait({"x-ratelimit-remaining": " 0 ", "x-ratelimit-reset": "1000012.5"}, now=now) == 12.5
    assert rate_limit_wait({}, now=now) is None


def test_rate_limit_wait_needs_an_exhausted_quota_for_the_reset_time() -> None:
    """A reset time counts only when x-ratelimit-remaining is 0; a past or malformed one gives 0 or None."""
    now = 1_000_000.0
    assert rate_limit_wait({"x-ratelimit-remaining": "12", "x-ratelimit-reset": str(int(now + 50))}, now=now) is None
    assert rate_limit_wait({"x-ratelimit-reset": str(int(now + 50))}, now=now) is None
    assert rate_limit_wait({"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(now - 5))}, now=now) == 0.0
    assert rate_limit_wait({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "soon"}, now=now) is None
    assert rate_limit_wait({"x-ratelimit-remaining": "0"}, now=now) is None


def test_rate_limit_wait_reads_the_clock_by_default() -> None:
    """Without ``now`` the reset time is measured from the wall clock."""
    import time

    wait = rate_limit_wait({"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(time.time() + 30)})
    assert wait is not None and 28.0 <= wait <= 30.0


SECONDARY = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}


@pytest.mark.parametrize("status", [403, 422])
def test_secondary_limit_write_is_retried_after_its_wait(
    mocked: responses.RequestsMock, fake_time: FakeTime, status: int
) -> None:
    """A 403/422 with Retry-After refused the write before it had effect: the PUT waits that long and is repeated."""
    mocked.put(f"{BASE}/secret", status=status, json=SECONDARY, headers={"retry-after": "3"})
    mocked.put(f"{BASE}/secret", status=204)
    response = _client(fake_time).request("PUT", "/secret", operation="put secret", idempotent=False)
    assert response.status_code == 204
    assert fake_time.sleeps == [3.0]
    assert len(mocked.calls) == 2


def test_secondary_limit_reset_time_is_honoured(mocked: responses.RequestsMock, fake_time: FakeTime) -> None:
    """A 403 with x-ratelimit-remaining 0 waits until x-ratelimit-reset before the POST is repeated."""
    import time

    reset = str(int(time.time()) + 6)
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}
    mocked.post(f"{BASE}/variables", status=403, json=SECONDARY, headers=headers)
    mocked.post(f"{BASE}/variables", status=201, json={})
    _client(fake_time).request("POST", "/variables", operation="create variable")
    assert len(fake_time.sleeps) == 1 and 4.0 <= fake_time.sleeps[0] <= 6.0


def test_a_403_without_a_wait_is_not_retried(mocked: responses.RequestsMock, fake_time: FakeTime) -> None:
    """A plain 403 (a missing permission) fails at once: only a named wait makes it a rate limit."""
    mocked.put(f"{BASE}/secret", status=403, json={"message": "Resource not accessible by integration"})
    with pytest.raises(PlatformError) as caught:
        _client(fake_time).request("PUT", "/secret", operation="put secret")
    assert caught.value.status == 403
    assert fake_time.sleeps == []
    assert len(mocked.calls) == 1


def test_secondary_limit_wait_past_the_budget_fails_at_once(mocked: responses.RequestsMock, fake_time: FakeTime) -> None:
    """GitHub's minute-long secondary wait beyond the retry budget fails at once, saying so."""
    mocked.put(f"{BASE}/secret", status=403, json=SECONDARY, headers={"retry-after": "60"})
    with pytest.raises(PlatformError, match="would exceed the 30 s retry budget"):
        _client(fake_time).request("PUT", "/secret", operation="put secret")
    assert fake_time.sleeps == []
