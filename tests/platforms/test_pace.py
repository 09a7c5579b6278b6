"""Client-side pacing: a vendor's documented rate is kept, waits show in the progress line."""

from __future__ import annotations

import pytest
import responses

from deploycheck import progress
from deploycheck.errors import ConfigError
from deploycheck.http import HttpClient, HttpSettings
from deploycheck.http.pace import WRITE_METHODS, Pace, Pacer, parse_pace, shared_pacer

from .conftest import FakeTime

BASE = "https://api.example.test/v1"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _waits(pacer: Pacer, n: int) -> list[float]:
    return [pacer.reserve()[0] for _ in range(n)]


def test_pacer_admits_the_limit_then_spaces_by_the_window() -> None:
    """Three a second: the first three go at once, the next three each wait for a slot a window later."""
    clock = Clock()
    pacer = Pacer(Pace(3, 1.0), clock=clock)
    assert _waits(pacer, 3) == [0.0, 0.0, 0.0]
    assert _waits(pacer, 3) == [1.0, 1.0, 1.0]
    assert _waits(pacer, 1) == [2.0]
    assert pacer.delayed == 4 and pacer.waited == 5.0


def test_pacer_forgets_requests_a_window_after_they_finished() -> None:
    """A finished request counts for one window from its answer; then it no longer counts."""
    clock = Clock()
    pacer = Pacer(Pace(2, 10.0), clock=clock)
    wait, first = pacer.reserve()
    pacer.finish(first)
    clock.now += 4
    wait, second = pacer.reserve()
    assert wait == 0.0
    pacer.finish(second)
    wait, third = pacer.reserve()
    assert wait == pytest.approx(6.0)
    clock.now += 20
    pacer.finish(third)
    clock.now += 10
    assert _waits(pacer, 2) == [0.0, 0.0]


def test_a_slow_request_counts_from_its_answer() -> None:
    """A request answered late pushes the slot a window past its answer, not past when it was sent."""
    clock = Clock()
    pacer = Pacer(Pace(1, 10.0), clock=clock)
    _, slow = pacer.reserve()
    clock.now += 3
    pacer.finish(slow)  # answered 3 s after it was sent
    assert pacer.reserve()[0] == pytest.approx(10.0)
    pacer.finish(slow)  # finishing twice changes nothing
    assert pacer.delayed == 1


def test_an_open_request_counts_as_not_finished_yet() -> None:
    """While a request is still open, the next slot is a window from now, the earliest it can finish."""
    clock = Clock()
    pacer = Pacer(Pace(1, 10.0), clock=clock)
    pacer.reserve()
    clock.now += 4
    assert pacer.reserve()[0] == pytest.approx(10.0)


def test_pace_applies_to_its_methods_only() -> None:
    """A write pace leaves reads alone; a pace without methods covers every request."""
    writes = Pace(80, 60.0, WRITE_METHODS)
    assert writes.applies("put") and writes.applies("POST") and not writes.applies("GET")
    assert Pace(1200, 300.0).applies("GET")
    assert Pace(80, 60.0).describe() == "80 requests per 60 s"
    assert Pace(80, 60.0, label="80 content-creating requests a minute").describe().startswith("80 content")


def test_shared_pacer_is_one_per_base_url() -> None:
    """Every client of one base URL shares the pacer: the limit is per credential, not per object."""
    pace = Pace(5, 1.0)
    assert shared_pacer("https://a.test", pace) is shared_pacer("https://a.test", pace)
    assert shared_pacer("https://a.test", pace) is not shared_pacer("https://b.test", pace)


def test_parse_pace() -> None:
    """`N/SECONDS` parses, `off` and `0` switch pacing off, anything else is a problem naming the variable."""
    problems: list = []
    assert parse_pace("80/60", "V", problems) == (80, 60.0)
    assert parse_pace(" OFF ", "V", problems) == (0, 0.0)
    assert parse_pace("0", "V", problems) == (0, 0.0)
    assert problems == []
    for bad in ("80", "x/60", "80/0", "-1/5"):
        assert parse_pace(bad, "V", problems) is None
    assert len(problems) == 4 and problems[0].path == "V" and "N/SECONDS" in problems[0].message


def test_settings_read_the_pace_from_the_environment() -> None:
    """DEPLOYCHECK_HTTP_PACE sets the pace; a malformed value is a ConfigError, not a silent default."""
    assert HttpSettings.from_environ({"DEPLOYCHECK_HTTP_PACE": "10/2"}).pace == (10, 2.0)
    assert HttpSettings.from_environ({}).pace is None
    with pytest.raises(ConfigError, match="DEPLOYCHECK_HTTP_PACE"):
        HttpSettings.from_environ({"DEPLOYCHECK_HTTP_PACE": "fast"})


def test_client_waits_for_a_slot_and_says_so(
    mocked: responses.RequestsMock, fake_time: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past its pace a write sleeps before sending, and the progress line names the pace it keeps."""
    mocked.put(f"{BASE}/s", status=204)
    mocked.get(f"{BASE}/s", status=200, json={})
    pace = Pace(2, 60.0, WRITE_METHODS, "2 writes a minute")
    client = fake_time.install(HttpClient(platform="example", base_url=f"{BASE}", pace=pace))
    assert client.pacer is not None
    client.pacer.clock = fake_time.clock
    seen: list[str] = []
    original = progress.Activity.pacing

    def spy(self: progress.Activity, seconds: float, text: str) -> None:
        original(self, seconds, text)
        seen.append(self.describe())

    monkeypatch.setattr(progress.Activity, "pacing", spy)
    for _ in range(3):
        client.request("PUT", "/s", operation="put s")
    client.request("GET", "/s", operation="read s")
    assert len(fake_time.sleeps) == 1 and fake_time.sleeps[0] == pytest.approx(60.0, abs=1.0)
    assert len(seen) == 1 and "paced to 2 writes a minute, sending in" in seen[0]


def test_loopback_is_paced_only_when_asked() -> None:
    """The sandbox keeps no vendor pace by itself; DEPLOYCHECK_HTTP_PACE paces it, `off` paces nothing."""
    pace = Pace(80, 60.0, WRITE_METHODS)
    assert HttpClient(platform="x", base_url="http://127.0.0.1:9", pace=pace).pacer is None
    asked = HttpClient(
        platform="x", base_url="http://127.0.0.1:9", pace=pace, settings=HttpSettings(pace=(5, 1.0))
    )
    assert (
        asked.pacer is not None and asked.pacer.pace.limit == 5 and asked.pacer.pace.methods == WRITE_METHODS
    )
    off = HttpClient(platform="x", base_url=BASE, pace=pace, settings=HttpSettings(pace=(0, 0.0)))
    assert off.pacer is None
    assert HttpClient(platform="x", base_url=BASE, pace=pace).pacer is not None
