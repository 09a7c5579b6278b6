"""Progress of long waits: what is waited for, which retry, the next try, the time elapsed."""

from __future__ import annotations

import time

import responses

from deploycheck import progress
from deploycheck.http import HttpClient
from deploycheck.progress import Activity, ProgressMonitor


def test_a_wait_over_two_seconds_is_reported_then_every_five() -> None:
    """A wait is silent under 2 s, then one line, then again 5 s later (no TTY: whole lines)."""
    lines: list[str] = []
    monitor = ProgressMonitor(lines.append, tty=False)
    with progress.activity("github-actions", "list variables") as waiting:
        start = waiting.started
        waiting.sleeping(1.5, 2, 3)
        assert monitor.tick(start + 1.0) == []
        due = monitor.tick(start + 2.5)
        assert due == ["Still waiting for github-actions: list variables (retry 2 of 3, next try in 0.0 s) [2s elapsed]"]
        assert monitor.tick(start + 4.0) == []
        assert len(monitor.tick(start + 7.6)) == 1
    assert monitor.tick(start + 20) == []
    assert len(lines) == 2 and all(line.endswith("\n") for line in lines)


def test_on_a_terminal_one_line_is_rewritten() -> None:
    """With a TTY every report rewrites the same line, and the line is cleared when the wait ends."""
    out: list[str] = []
    monitor = ProgressMonitor(out.append, tty=True)
    with progress.activity("convex", "read deployment info") as waiting:
        monitor.tick(waiting.started + 3)
        monitor.tick(waiting.started + 4)
    monitor.tick()
    assert all(chunk.startswith("\r\x1b[2K") for chunk in out)
    assert "\n" not in "".join(out)
    assert out[-1] == "\r\x1b[2K"


def test_describe_names_platform_operation_retry_and_next_try() -> None:
    """The line reads like Terraform's "Still reading... [10s elapsed]" with the retry and backoff."""
    waiting = Activity("cloudflare-worker", "list worker secrets", started=100.0)
    waiting.sleeping(3.0, 1, 3)
    assert waiting.sleeping_until is not None
    text = waiting.describe(waiting.sleeping_until - 2.0)
    assert text.startswith("Still waiting for cloudflare-worker: list worker secrets (retry 1 of 3, next try in 2.0 s) [")


@responses.activate
def test_http_client_reports_its_retries() -> None:
    """HttpClient registers each request with the retry it is on while it backs off."""
    responses.add(responses.GET, "https://api.example.test/x", status=503)
    responses.add(responses.GET, "https://api.example.test/x", json={})
    seen: list[str] = []

    def sleep(seconds: float) -> None:
        seen.extend(a.describe() for a in progress.activities())

    client = HttpClient(platform="convex", base_url="https://api.example.test", sleep=sleep)
    client.request("GET", "/x", operation="read x")
    assert seen and seen[0].startswith("Still waiting for convex: read x (retry 1 of 3, next try in")
    assert progress.activities() == []


def test_monitor_thread_writes_while_a_request_hangs() -> None:
    """The monitor thread prints while a wait is in progress, with no TTY needed."""
    lines: list[str] = []
    monitor = ProgressMonitor(lines.append, tick_s=0.05, quiet_s=0.1, every_s=0.2).start()
    with progress.activity("pages", "GET /"):
        time.sleep(0.5)
    monitor.stop()
    assert lines and lines[0].startswith("Still waiting for pages: GET /")
