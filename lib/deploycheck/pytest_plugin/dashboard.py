"""pytest glue of the deployment dashboard: pytest-html hooks feeding :mod:`deploycheck.report.dashboard`.

Registered by :mod:`deploycheck.pytest_plugin.session` on the controller whenever an HTML
report is written. It labels every row with its deploycheck outcome (PASS / WARN / FAIL /
SKIP / ERROR); for the run's default report it also adds the dashboard above
pytest-html's summary, a Message column to the results table (a WARN's message shows
without expanding the row), skip reasons in words instead of pytest's ``(path, line,
reason)`` tuple, and folds a check's extra teardown row into its call row so every count
on the page is one per check.
"""

from __future__ import annotations

import html
import os
import time
from typing import Any

import pytest

from deploycheck.platforms import get_spec
from deploycheck.platforms.consoles import CONSOLE_VARIABLES
from deploycheck.pytest_plugin.reporter import RunReporter, sandbox_hint
from deploycheck.redact import redact
from deploycheck.report import TargetRow, group_causes, render_dashboard, warn_message
from deploycheck.report import results as reporting
from deploycheck.verify import CheckTarget, Run, resource_of

__all__ = ["Dashboard", "target_properties"]


def target_properties(run: Run, item: pytest.Item) -> list[tuple[str, str]]:
    """The target and resource properties of a check: its ``target`` parameter, else its ``target`` marker."""
    callspec = getattr(item, "callspec", None)
    param = callspec.params.get("target") if callspec is not None else None
    if isinstance(param, CheckTarget):
        name, resource = param.name, param.resource
    else:
        marker = item.get_closest_marker("target")
        if marker is None or not marker.args:
            return []
        name = str(marker.args[0])
        configured = run.config.targets.get(name)
        resource = resource_of(configured, run.env.name) if configured is not None else ""
    return [(reporting.TARGET_PROPERTY, name), (reporting.RESOURCE_PROPERTY, resource)]


def _skip_reason(report: Any) -> str | None:
    longrepr = getattr(report, "longrepr", None)
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        path, line, reason = longrepr
        return f"{str(reason).removeprefix('Skipped: ')}\n(skipped at {path}:{int(line) + 1})"
    return None


class Dashboard:
    """The pytest-html hooks that turn its report into the deployment dashboard.

    ``full`` is False for an HTML report the run was asked for while its default reports are
    off (``--no-reports --html=...``): rows get their outcome, nothing more.
    """

    def __init__(self, config: pytest.Config, run: Run, reporter: RunReporter, *, full: bool = True) -> None:
        self.config = config
        self.run = run
        self.reporter = reporter
        self.full = full
        self.started = time.monotonic()
        self._rows: set[str] = set()

    def targets(self) -> list[TargetRow]:
        """The matrix rows: every target of the environment on the run's platforms."""
        rows = []
        for target in self.run.config.targets_for(self.run.env.name, self.run.platforms or None):
            params = {k: redact(str(v)) for k, v in (target.params(self.run.env.name) or {}).items()}
            environ = {k: redact(v) for k, v in os.environ.items() if k in CONSOLE_VARIABLES}
            rows.append(
                TargetRow(
                    name=target.name,
                    platform=target.platform,
                    resource=resource_of(target, self.run.env.name),
                    console=get_spec(target.platform).console_url(params, environ),
                )
            )
        return rows

    def render(self) -> str:
        """The dashboard HTML for the run so far."""
        records = self.run.results.records
        verdict = reporting.verdict(
            self.run.results.counts(), fail_on_warn=bool(self.config.getoption("dc_fail_on_warn"))
        )
        return render_dashboard(
            env=self.run.env.name,
            verdict=verdict,
            records=records,
            targets=self.targets(),
            causes=group_causes(records, sandbox_hint=sandbox_hint(self.run)),
            drift=self.reporter.drift,
            duration_s=time.monotonic() - self.started,
        )

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(self, prefix: list[str], summary: list[str], postfix: list[str]) -> None:
        """Put the dashboard above pytest-html's summary (its script moves it under the title)."""
        if self.full:
            prefix.append(self.render())

    @pytest.hookimpl(optionalhook=True, trylast=True)
    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        """Add the Outcome column (PASS / WARN / FAIL / SKIP / ERROR) and the Message column."""
        cells.insert(1, '<th class="dc-outcome-head">Outcome</th>')
        if self.full:
            cells.insert(3, '<th class="dc-message-head">Message</th>')

    @pytest.hookimpl(optionalhook=True, trylast=True)
    def pytest_html_results_table_row(self, report: Any, cells: list[str]) -> None:
        """Label the row with its outcome and message; one row per check (a teardown error joins its call)."""
        nodeid = str(report.nodeid)
        if self.full and report.when == "teardown" and nodeid in self._rows:
            cells.clear()
            return
        _label_outcome(report, cells)
        if not self.full:
            return
        self._rows.add(nodeid)
        record = next((r for r in self.run.results.records if r.id == nodeid), None)
        message = record.message if record is not None else ""
        cells.insert(3, f'<td class="col-message">{html.escape(redact(message))}</td>')

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_html(self, report: Any, data: list[str]) -> None:
        """Skip reasons in words; a WARN's message first in the expanded row."""
        if not self.full:
            return
        reason = _skip_reason(report)
        if reason is not None and data:
            data[0] = html.escape(redact(reason)) + "\n"
        warned = reporting.warn_message(report)
        if warned is not None:
            data.insert(0, html.escape(redact(f"WARN: {warned}")) + "\n")


def _label_outcome(report: Any, cells: list[str]) -> None:
    """Label a row with its deploycheck outcome; warned rows get the WARN label and colour."""
    if report.when in (None, "collect") or (report.when != "call" and report.failed):
        outcome = "error" if report.failed else "pass"
    elif hasattr(report, "wasxfail") or report.skipped:
        outcome = "skip"
    elif report.failed:
        outcome = "fail"
    else:
        outcome = "warn" if warn_message(report) is not None else "pass"
    if outcome == "warn":
        cells[0] = cells[0].replace('class="col-result"', 'class="col-result dc-warned"')
    cells.insert(1, f'<td class="col-outcome dc-{outcome}">{outcome.upper()}</td>')
