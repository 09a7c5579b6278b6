"""The sandbox's emulated rate limits: off by default, the vendors' answers once switched on."""

from __future__ import annotations

import pytest
import requests

from deploycheck.sandbox.ratelimit import SECONDARY_MESSAGE, RateLimit, parse_rate_limit


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_github_counts_content_creating_requests_only() -> None:
    """Reads never count; the write past the limit gets 403, the secondary-limit message and retry-after."""
    clock = Clock()
    limit = RateLimit("github", 2, 10.0, status=403, clock=clock)
    assert [limit.take(m) for m in ("GET", "PUT", "HEAD", "POST", "OPTIONS")] == [None] * 5
    clock.now += 4
    refusal = limit.take("PATCH")
    assert refusal is not None and refusal.status == 403
    assert refusal.headers["retry-after"] == "6"
    assert refusal.body["message"] == SECONDARY_MESSAGE
    assert limit.take("GET") is None
    clock.now += 6
    assert limit.take("DELETE") is None  # a new window
    assert limit.refused == 1


def test_github_reset_hint_gives_remaining_zero_and_epoch_reset() -> None:
    """With hint=reset the refusal carries x-ratelimit-remaining 0 and the window's end in epoch seconds."""
    clock = Clock()
    limit = RateLimit("github", 1, 30.0, status=422, hint="reset", clock=clock, wall=lambda: 1_000_000.0)
    assert limit.take("PUT") is None
    refusal = limit.take("PUT")
    assert refusal is not None and refusal.status == 422
    assert refusal.headers["x-ratelimit-remaining"] == "0"
    assert refusal.headers["x-ratelimit-reset"] == "1000030"
    assert "retry-after" not in refusal.headers


def test_cloudflare_blocks_every_request_for_a_window_after_the_limit() -> None:
    """Past 1,200 (here 2) every request, reads too, gets 429 code 971 for one whole window."""
    clock = Clock()
    limit = RateLimit("cloudflare", 2, 300.0, clock=clock)
    assert limit.take("GET") is None and limit.take("PATCH") is None
    first = limit.take("GET")
    assert first is not None and first.status == 429 and first.headers["retry-after"] == "300"
    assert first.body["errors"][0]["code"] == 971
    clock.now += 299.5
    later = limit.take("GET")
    assert later is not None and later.headers["retry-after"] == "1"
    clock.now += 1
    assert limit.take("GET") is None


def test_parse_rate_limit_defaults_and_problems() -> None:
    """The vendors' counts are the defaults; every bad field is named in one message."""
    github = parse_rate_limit({"service": "github"})
    assert (github.limit, github.window_s, github.status) == (80, 60.0, 403)
    cloudflare = parse_rate_limit({"service": "cloudflare", "window_s": 2})
    assert (cloudflare.limit, cloudflare.window_s, cloudflare.status) == (1200, 2.0, 429)
    with pytest.raises(ValueError) as caught:
        parse_rate_limit(
            {"service": "github", "limit": 0, "window_s": 10_000, "status": 500, "hint": "x", "y": 1}
        )
    text = str(caught.value)
    for part in (
        "unknown keys ['y']",
        "limit must be",
        "window_s must be",
        "status of a github",
        "hint must be",
    ):
        assert part in text
    with pytest.raises(ValueError, match="service must be one of"):
        parse_rate_limit({"service": "convex"})


@pytest.mark.sandbox
def test_admin_api_switches_a_limit_on_and_off(sandbox, sandbox_admin) -> None:  # type: ignore[no-untyped-def]
    """POST /rate-limits makes the GitHub emulator refuse the write past the limit; DELETE switches it off."""
    assert sandbox_admin.rate_limits() == []
    sandbox_admin.rate_limit(service="github", limit=1, window_s=30)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {sandbox.github_token}"
    url = f"{sandbox.github_api_url}/repos/{sandbox.github_repository}/actions/variables"
    assert session.post(url, json={"name": "A", "value": "1"}, timeout=5).status_code == 201
    refused = session.post(url, json={"name": "B", "value": "2"}, timeout=5)
    assert refused.status_code == 403
    assert "secondary rate limit" in refused.json()["message"]
    assert 1 <= int(refused.headers["retry-after"]) <= 30
    assert session.get(url, timeout=5).status_code == 200  # reads are not content-creating
    assert sandbox_admin.rate_limits()[0]["refused"] == 1
    sandbox_admin.clear_rate_limits()
    assert session.post(url, json={"name": "B", "value": "2"}, timeout=5).status_code == 201


@pytest.mark.sandbox
def test_bad_rate_limit_is_a_400(sandbox_admin) -> None:  # type: ignore[no-untyped-def]
    """A malformed limit is refused with the problem named, and nothing is switched on."""
    with pytest.raises(RuntimeError, match="window_s must be"):
        sandbox_admin.rate_limit(service="github", window_s=-1)
    assert sandbox_admin.rate_limits() == []
