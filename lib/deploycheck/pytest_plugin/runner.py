"""Running the deployment checks in this process: what ``deploycheck verify`` calls.

:func:`run_checks` runs ``pytest`` with the given arguments and a collector that folds
every report into deploycheck outcomes, and maps pytest's exit codes onto the verify
command's: a check module that does not import is a failed check, not an interrupt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from deploycheck.report import Results

__all__ = ["CheckRun", "run_checks"]


class _Collector:
    """A pytest plugin object folding the reports of the run into deploycheck outcomes."""

    #: the command prints the verdict itself, last; the plugin's summary leaves it out (said once)
    dc_prints_verdict = True

    def __init__(self, env: str) -> None:
        self.results = Results(env)

    def pytest_runtest_logreport(self, report: Any) -> None:
        """Record each check phase's report."""
        self.results.add_report(report)

    def pytest_collectreport(self, report: Any) -> None:
        """Record collection errors."""
        if report.failed:
            self.results.add_report(report)


@dataclass(frozen=True)
class CheckRun:
    """The outcome of one in-process run: the outcome counts and what pytest said."""

    counts: dict[str, int]
    usage_error: bool = False
    interrupted: bool = False
    nothing_collected: bool = False
    passed: bool = False


def run_checks(argv: Sequence[str], env: str) -> CheckRun:
    """Run ``pytest argv`` in this process and return the folded outcome."""
    collector = _Collector(env)
    code = int(pytest.main(list(argv), plugins=[collector]))
    counts = dict(collector.results.counts())
    if code == pytest.ExitCode.INTERRUPTED and counts.get("error"):
        # pytest reports a check module that does not import as "interrupted": it is a failed check
        code = pytest.ExitCode.TESTS_FAILED
    return CheckRun(
        counts=counts,
        usage_error=code == pytest.ExitCode.USAGE_ERROR,
        interrupted=code == pytest.ExitCode.INTERRUPTED,
        nothing_collected=code == pytest.ExitCode.NO_TESTS_COLLECTED,
        passed=code == pytest.ExitCode.OK,
    )
