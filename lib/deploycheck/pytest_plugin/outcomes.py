"""What a check's outcome is, and what its report may show: WARN, severity, redaction.

A check that called :func:`deploycheck.warn` (or failed under ``severity("warn")``) passes
as WARN; every test and collection report is redacted here, in the process that made it,
before any other plugin sees it; a comparison involving a secret is explained by
fingerprints only.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from deploycheck.redact import fingerprint, redact
from deploycheck.report import MESSAGE_PROPERTY, OUTCOME_PROPERTY, holds_secret, warn_message
from deploycheck.report import results as reporting
from deploycheck.warnings import take_warnings

__all__: list[str] = []

#: copied report attributes that may carry text from the check
_REDACTED_FIELDS = ("longrepr", "sections", "user_properties", "extras")


def _redact_report(config: pytest.Config, report: pytest.TestReport | pytest.CollectReport) -> None:
    data = config.hook.pytest_report_to_serializable(config=config, report=report)
    if data is None:
        return
    clean = reporting.redact_tree(data)
    if clean == data:
        return
    rebuilt = config.hook.pytest_report_from_serializable(config=config, data=clean)
    for name in _REDACTED_FIELDS:
        if name in vars(report) and name in vars(rebuilt):
            setattr(report, name, getattr(rebuilt, name))


def _apply_warnings(item: pytest.Item, report: pytest.TestReport) -> None:
    messages = take_warnings()
    marker = item.get_closest_marker("severity")
    level = (marker.args[0] if marker.args else marker.kwargs.get("level")) if marker else None
    if report.failed and level == "warn" and not hasattr(report, "wasxfail"):
        crash = getattr(report.longrepr, "reprcrash", None)
        first = str(crash.message) if crash is not None else report.longreprtext.strip()
        messages.insert(0, (first.splitlines() or ["failed"])[0])
        item.add_report_section("call", "failure (severity warn)", report.longreprtext)
        report.sections.append(("Captured failure (severity warn) call", report.longreprtext))
        report.outcome, report.longrepr = "passed", None
    if not messages or not report.passed:
        return
    message = redact("; ".join(messages))
    item.user_properties += [(OUTCOME_PROPERTY, "warn"), (MESSAGE_PROPERTY, message)]
    report.user_properties = list(item.user_properties)
    # a "Captured stdout" section: JUnit writes it to <system-out> (junit_logging = system-out)
    text = "".join(f"WARN: {m}\n" for m in messages)
    item.add_report_section("call", "stdout (deploycheck WARN)", text)
    report.sections.append(("Captured stdout (deploycheck WARN) call", text))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """Turn warnings and severity('warn') failures into WARN, then redact the report."""
    report = yield
    if report.when == "call":
        _apply_warnings(item, report)
    elif report.when == "teardown":
        take_warnings()
    _redact_report(item.config, report)
    return report


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, Any, Any]:
    """Redact collection reports (a module that fails to import may print a secret)."""
    report = yield
    _redact_report(collector.config, report)
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> tuple[str, str, Any] | None:
    """Show warned checks as ``W`` / ``WARN`` and count them as "warned"."""
    if report.when == "call" and warn_message(report) is not None:
        return "warned", "W", ("WARN", {"yellow": True})
    return None


def pytest_assertrepr_compare(
    config: pytest.Config, op: str, left: object, right: object
) -> list[str] | None:
    """Explain a comparison involving a secret by fingerprints only, never by its text."""

    def text(value: object) -> str:
        return value if isinstance(value, str) else repr(value)

    hidden = [holds_secret(text(left)), holds_secret(text(right))]
    if not any(hidden):
        return None
    names = ["<secret>" if h else "<value>" for h in hidden]
    return [
        f"{names[0]} {op} {names[1]}: values hidden; fingerprints:",
        f"left:  {fingerprint(text(left))}",
        f"right: {fingerprint(text(right))}",
        "Compare secrets with deploycheck.fingerprint(value).",
    ]
