"""The HTML report in a real browser: Debian's chromium, driven over the DevTools protocol.

For a passing, a warning, a failing and a sandbox-down run this opens reports/report.html
and asserts what a reader sees: the verdict banner (text and colour) under the title, the
target x check matrix cells, the root causes, the WARN filter, the counts agreeing
everywhere, no console error and no network request. Screenshots go to
``reports/screenshots/`` (``DEPLOYCHECK_SCREENSHOTS`` moves them), kept by CI as artifacts.
Run by ``tox -e browser``, which installs chromium when it is missing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

pytest.importorskip("websockets", reason="the browser tests need websockets (pip install -e '.[browser]')")
from browser_cdp import Browser, Page, find_chromium

from deploycheck.sandbox import Sandbox

REPO = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("DEPLOYCHECK_SCREENSHOTS") or REPO / "reports" / "screenshots")
COLOURS = {"passed": "rgb(26, 127, 55)", "warned": "rgb(154, 103, 0)", "failed": "rgb(207, 34, 46)"}
CHIP_COLOURS = {"pass": "rgb(26, 127, 55)", "warn": "rgb(154, 103, 0)", "fail": "rgb(207, 34, 46)",
                "skip": "rgb(87, 96, 106)", "error": "rgb(130, 80, 223)"}  # fmt: skip

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """A headless system chromium; skips with the install command when there is none."""
    executable = find_chromium()
    if executable is None:
        pytest.skip("chromium is not installed: run `apt-get install chromium` (tox -e browser does it)")
    started = Browser(executable)
    yield started
    started.close()


def _open(browser: Browser, run: Any, name: str) -> tuple[Page, dict[str, Any]]:
    report = run.report_dir / "report.html"
    assert report.is_file(), run.output
    page = browser.new_page()
    page.open(report.resolve().as_uri())
    page.drain(0.5)
    page.screenshot(SHOTS / f"{name}.png")
    page.screenshot(SHOTS / f"{name}-dashboard.png", height=1100)
    results = json.loads((run.report_dir / "results.json").read_text())
    return page, results


def _assert_clean(page: Page) -> None:
    assert page.console_errors == []
    assert [u for u in page.requests if not u.startswith(("file:", "data:"))] == []


def _banner(page: Page) -> dict[str, Any]:
    return page.evaluate(
        """(() => { const b = document.getElementById('dc-banner');
        return {text: b.querySelector('.dc-banner-verdict').textContent,
                colour: getComputedStyle(b).backgroundColor,
                counts: b.querySelector('.dc-banner-counts').textContent,
                afterTitle: document.getElementById('title').nextElementSibling.id,
                top: b.getBoundingClientRect().top}; })()"""
    )


def _chips(page: Page) -> list[dict[str, Any]]:
    return page.evaluate(
        """[...document.querySelectorAll('#dc-matrix .dc-chip')].map(c => ({
            target: c.closest('tr').dataset.target, check: c.dataset.check, outcome: c.dataset.outcome,
            colour: getComputedStyle(c).backgroundColor, title: c.title}))"""
    )


def _counts_text(results: dict[str, Any]) -> str:
    c = results["counts"]
    return f"{c['pass']} passed {c['warn']} warned {c['fail']} failed {c['error']} errors {c['skip']} skipped"


def _assert_consistent(page: Page, results: dict[str, Any]) -> None:
    """Banner counts, filter counts, matrix chips and table rows all count one per check."""
    assert _banner(page)["counts"] == _counts_text(results)
    filters = page.evaluate(
        "[...document.querySelectorAll('#dc-filters label')].map(l => l.textContent.trim())"
    )
    c = results["counts"]
    assert filters == [f"{c['pass']} passed", f"{c['warn']} warned", f"{c['fail']} failed",
                       f"{c['error']} errors", f"{c['skip']} skipped"]  # fmt: skip
    assert len(_chips(page)) == len(results["checks"])
    assert page.evaluate("document.querySelectorAll('#results-table tbody.results-table-row').length") == len(
        results["checks"]
    )


def test_passing_run_shows_a_green_banner_and_every_cell_passing(browser, run_checks) -> None:
    """A healthy sandbox: a green "Verification PASSED" banner under the title, no root causes, no FAIL cell."""
    run = run_checks()
    page, results = _open(browser, run, "passing")
    banner = _banner(page)
    assert banner["text"] == "Verification PASSED"
    assert banner["colour"] == COLOURS["passed"]
    assert banner["afterTitle"] == "dc-dashboard"
    assert banner["top"] < 150
    assert page.evaluate("document.getElementById('dc-causes')") is None
    chips = _chips(page)
    assert {c["outcome"] for c in chips} <= {"pass", "skip"}
    for chip in chips:
        assert chip["colour"] == CHIP_COLOURS[chip["outcome"]]
    targets = page.evaluate(
        "[...document.querySelectorAll('#dc-matrix tr.dc-target')].map(r => r.dataset.target)"
    )
    assert {"NEXTJS", "CONVEX", "CLOUDFLARE_WORKER", "GITHUB"} <= set(targets)
    links = page.evaluate("[...document.querySelectorAll('#dc-matrix a.dc-console')].map(a => a.href)")
    assert any(link.startswith("https://dash.cloudflare.com/") and "/workers/services/view/log-ingestion/" in link
               for link in links)  # fmt: skip
    assert "https://dashboard.convex.dev/d/prod-graceful-shrimp-355" in links
    skipped = page.evaluate(
        "[...document.querySelectorAll('#results-table td.col-outcome.dc-skip')].map(td => td.closest('tr')"
        ".querySelector('td.col-message').textContent)"
    )
    assert skipped and not any(text.startswith("(") for text in skipped)
    assert page.evaluate("document.querySelector('#dc-drift p').textContent").startswith("No drift:")
    _assert_consistent(page, results)
    _assert_clean(page)


def test_warning_run_shows_an_amber_banner_and_filters_warnings(browser, run_checks, sandbox_admin) -> None:
    """A degraded Worker: an amber "PASSED with warnings" banner, a WARN cell with its message, a working WARN filter."""
    sandbox_admin.fault(service="worker", health="degraded")
    run = run_checks()
    page, results = _open(browser, run, "warning")
    banner = _banner(page)
    assert banner["text"] == "Verification PASSED with warnings"
    assert banner["colour"] == COLOURS["warned"]
    warned = [c for c in _chips(page) if c["outcome"] == "warn"]
    assert [c["check"] for c in warned] == ["test_worker_health[sandbox-log-ingestion]"]
    assert warned[0]["target"] == "CLOUDFLARE_WORKER"
    assert warned[0]["colour"] == CHIP_COLOURS["warn"]
    assert "degraded" in warned[0]["title"]
    listed = page.evaluate("[...document.querySelectorAll('#dc-warnings .dc-warning')].map(li => li.textContent)")
    assert len(listed) == 1 and "test_worker_health[sandbox-log-ingestion]" in listed[0] and "degraded" in listed[0]
    # click: the message shows in the detail panel
    page.evaluate("document.querySelector('.dc-chip[data-outcome=\"warn\"]').click()")
    detail = page.evaluate(
        "(() => { const d = document.getElementById('dc-detail'); return {hidden: d.hidden, "
        "text: d.querySelector('.dc-detail-message').textContent}; })()"
    )
    assert detail["hidden"] is False
    assert "degraded" in detail["text"]
    # the WARN filter hides the warned row and only it
    visible = "[...document.querySelectorAll('#results-table tbody.results-table-row')].filter(b => b.offsetParent !== null).length"
    before = page.evaluate(visible)
    page.evaluate("document.querySelector('input[data-dc-filter=\"warn\"]').click()")
    assert page.evaluate(visible) == before - 1
    colour = page.evaluate("getComputedStyle(document.querySelector('td.col-outcome.dc-warn')).color")
    assert colour == CHIP_COLOURS["warn"]
    page.evaluate("document.querySelector('input[data-dc-filter=\"warn\"]').click()")
    _assert_consistent(page, results)
    _assert_clean(page)


def test_failing_run_groups_failures_by_root_cause(browser, run_checks, sandbox_admin, sandbox) -> None:
    """A Pages 503 and a drifted Convex value: a red banner, the 503's two checks under one headline, drift listed."""
    sandbox_admin.fault(service="pages", status=503)
    response = requests.post(
        f"{sandbox.convex_url}/api/v1/update_environment_variables",
        json={"changes": [{"name": "APP_ENV", "value": "staging"}]},
        headers={"Authorization": f"Convex {sandbox.convex_deploy_key}"},
        timeout=5,
    )
    assert response.status_code == 200
    run = run_checks()
    page, results = _open(browser, run, "failing")
    banner = _banner(page)
    assert banner["text"] == "Verification FAILED"
    assert banner["colour"] == COLOURS["failed"]
    causes = page.evaluate(
        """[...document.querySelectorAll('#dc-causes .dc-cause')].map(c => ({
            headline: c.querySelector('.dc-cause-headline').textContent, kind: c.dataset.kind,
            checks: [...c.querySelectorAll('.dc-cause-check')].map(li => li.dataset.check)}))"""
    )
    assert causes[0]["kind"] == "server-error"
    assert "cloudflare-pages app-web answered HTTP 503" in causes[0]["headline"]
    assert causes[0]["checks"][:2] == [
        "test_pages_answers[sandbox-app-web]",
        "test_pages_content_marker[sandbox-app-web]",
    ]
    assert any("test_no_drift[sandbox-CONVEX-APP_ENV]" in c["checks"] for c in causes[1:])
    chips = {(c["target"], c["check"]): c for c in _chips(page)}
    assert chips[("NEXTJS", "test_pages_answers[sandbox-app-web]")]["outcome"] == "fail"
    assert chips[("NEXTJS", "test_pages_answers[sandbox-app-web]")]["colour"] == CHIP_COLOURS["fail"]
    assert chips[("CONVEX", "test_no_drift[sandbox-CONVEX-APP_ENV]")]["outcome"] == "fail"
    assert chips[("CONVEX", "test_convex_answers[sandbox-prod-graceful-shrimp-355]")]["outcome"] == "pass"
    drift = page.evaluate("[...document.querySelectorAll('#dc-drift tbody tr')].map(r => r.textContent)")
    assert any("APP_ENV" in row and "value_differs" in row for row in drift)
    _assert_consistent(page, results)
    _assert_clean(page)


def test_stopped_sandbox_is_one_root_cause(browser, run_checks) -> None:
    """With the sandbox gone, terminal and report name one cause, "sandbox unreachable at ...", above the list."""
    gone = Sandbox()
    info = gone.start()
    gone.stop()
    env = {**info.environ(), "DEPLOYCHECK_HTTP_RETRIES": "1", "DEPLOYCHECK_HTTP_TIMEOUT": "2"}
    run = run_checks(env=env)
    assert run.returncode == 1
    lines = run.output.splitlines()
    first = next(i for i, line in enumerate(lines) if "root cause" in line and "failed check" in line)
    assert lines[first].startswith("1 root cause of "), run.output
    assert lines[first + 1].startswith("1. sandbox unreachable at 127.0.0.1:"), run.output
    assert first < next(i for i, line in enumerate(lines) if "short test summary" in line)
    page, results = _open(browser, run, "sandbox-stopped")
    causes = page.evaluate(
        "[...document.querySelectorAll('#dc-causes .dc-cause-headline')].map(h => h.textContent)"
    )
    assert len(causes) == 1
    assert causes[0].startswith("sandbox unreachable at 127.0.0.1:")
    # a long list shows its first checks, the rest one click away
    assert page.evaluate("document.querySelectorAll('#dc-causes .dc-cause-more details').length") == 1
    drift = page.evaluate("document.querySelector('#dc-drift p').textContent")
    assert drift.startswith("Drift unknown:"), drift  # never "no drift" when nothing could be compared
    failing = results["counts"]["fail"] + results["counts"]["error"]
    assert page.evaluate("Number(document.querySelector('#dc-causes .dc-cause').dataset.count)") == failing
    _assert_clean(page)
