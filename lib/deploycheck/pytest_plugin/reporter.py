"""The controller's reporter: results.json, the WARN list, the verdict, the drift rows, the HTML title.

Registered by :mod:`deploycheck.pytest_plugin.session` on the controller only (never on xdist
workers), in the spirit of pytest-reportlog's reporter; it folds the reports the controller
receives, so every check appears once whatever the number of workers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from deploycheck.redact import redact
from deploycheck.report import DriftRow, group_causes, render_causes
from deploycheck.report import results as reporting
from deploycheck.verify import Run
from deploycheck.verify.session import SANDBOX_ADMIN_VARIABLE

__all__ = ["DRIFT_PROPERTY", "RunReporter", "sandbox_hint"]

#: the user property a drift check records its finding in (JSON; fingerprints, never a value)
DRIFT_PROPERTY = "deploycheck_drift"


def sandbox_hint(run: Run) -> str | None:
    """Where the run's sandbox listens (its admin URL) when the environment is the sandbox, else None."""
    if not run.env.sandbox:
        return None
    return os.environ.get(SANDBOX_ADMIN_VARIABLE) or "127.0.0.1"


class RunReporter:
    """Folds the reports the controller receives into results.json and the closing summary."""

    def __init__(self, config: pytest.Config, run: Run, paths: Mapping[str, Path]) -> None:
        self.config = config
        self.run = run
        self.fail_on_warn = bool(config.getoption("dc_fail_on_warn"))
        self.paths = dict(paths)
        #: the drift findings the drift checks recorded, for the dashboard
        self.drift: list[DriftRow] = []

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Record the check's outcome, and the drift finding a drift check recorded."""
        self.run.results.add_report(report)
        if report.when != "call":
            return
        for name, value in report.user_properties:
            if name == DRIFT_PROPERTY:
                try:
                    self.drift.append(DriftRow.from_mapping(json.loads(str(value))))
                except (ValueError, TypeError):
                    continue

    @pytest.hookimpl(tryfirst=True)
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """Record collection errors."""
        if report.failed:
            self.run.results.add_report(report)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """List each WARN with its message, then the verification summary and verdict."""
        if self.config.option.collectonly:
            return
        warned = self.run.results.warned()
        if warned:
            terminalreporter.write_sep("=", "WARN", yellow=True)
            for record in warned:
                terminalreporter.write_line(redact(f"WARN {record.id} - {record.message}"))
        if self.fail_on_warn and warned:
            terminalreporter.write_line("--fail-on-warn: the warnings above fail this run")
        causes = group_causes(self.run.results.records, sandbox_hint=sandbox_hint(self.run))
        if causes:
            terminalreporter.write_sep("=", "root causes, worst first", red=True)
            for line in render_causes(causes):
                terminalreporter.write_line(redact(line))
        counts = self.run.results.counts()
        # deploycheck verify prints the verdict itself, once, as its last line
        if not any(getattr(p, "dc_prints_verdict", False) for p in self.config.pluginmanager.get_plugins()):
            for line in reporting.summary_lines(counts, self.run.env.name, fail_on_warn=self.fail_on_warn):
                terminalreporter.write_line(line)
        if "results" in self.paths:
            terminalreporter.write_line(f"results: {self.paths['results']}")

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Write results.json; with --fail-on-warn, warnings make the exit code 1."""
        if "results" in self.paths:
            meta = {"config": str(self.run.config.path), "platforms": list(self.run.platforms)}
            self.run.results.write(self.paths["results"], **meta)
        if self.fail_on_warn and self.run.results.warned() and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_report_title(self, report: Any) -> None:
        """Title the HTML report after the environment."""
        report.title = f"deploycheck: {self.run.env.name} verification"
