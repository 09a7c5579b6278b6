"""The reliability summary: the outcome of each tagged test as a cell of a table.

A test tags itself with ``request.node.user_properties.append(("reliability-cell",
"TABLE|ROW|COLUMN"))``. This plugin (loaded from tests/conftest.py so that the xdist
controller, which collects nothing, has it too) folds the reports into one table per
TABLE, prints them at the end of the session and writes them to
``reports/reliability-matrix.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

CELL = "reliability-cell"
#: columns in this order first (xdist reports arrive in any order), the rest alphabetically
COLUMN_ORDER = (
    "500", "503-then-ok", "429-retry-after", "hang", "refused", "malformed-json", "error-envelope",
    "401", "403", "500-on-write", "sync-env", "drift", "rollback", "verify", "deploycheck",
)  # fmt: skip
#: table -> row -> column -> outcome (PASS, FAIL, n/a)
_cells: dict[str, dict[str, dict[str, str]]] = {}


def _outcome(report: pytest.TestReport) -> str | None:
    if report.when == "call":
        if report.skipped:
            return "n/a"
        return "PASS" if report.passed else "FAIL"
    if report.when == "setup" and report.skipped:
        return "n/a"
    if report.when in ("setup", "teardown") and report.failed:
        return "ERROR"
    return None


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Record the outcome of each tagged test (on the xdist controller, from the workers' reports)."""
    tag = next((str(v) for k, v in report.user_properties if k == CELL), None)
    outcome = _outcome(report)
    if tag is None or outcome is None:
        return
    table, row, column = tag.split("|", 2)
    cells = _cells.setdefault(table, {}).setdefault(row, {})
    if cells.get(column) in ("FAIL", "ERROR"):
        return
    cells[column] = outcome


def render(cells: dict[str, dict[str, dict[str, str]]]) -> str:
    """Every table as Markdown, then the totals."""
    lines: list[str] = []
    totals: dict[str, int] = {}
    for table, rows in cells.items():
        seen = {c for row in rows.values() for c in row}
        columns = [c for c in COLUMN_ORDER if c in seen] + sorted(seen - set(COLUMN_ORDER))
        lines.append(f"### {table}")
        lines.append("")
        lines.append("| | " + " | ".join(columns) + " |")
        lines.append("|---|" + "---|" * len(columns))
        for row, values in rows.items():
            lines.append(f"| {row} | " + " | ".join(values.get(c, "-") for c in columns) + " |")
            for value in values.values():
                totals[value] = totals.get(value, 0) + 1
        lines.append("")
    lines.append("Cells: " + ", ".join(f"{n} {k}" for k, n in sorted(totals.items())))
    return "\n".join(lines) + "\n"


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Print the reliability tables and write them to reports/reliability-matrix.md."""
    if not _cells or hasattr(config, "workerinput"):
        return
    ordered = {t: dict(sorted(rows.items())) for t, rows in sorted(_cells.items())}
    text = render(ordered)
    terminalreporter.write_sep("=", "reliability matrix")
    terminalreporter.write(text)
    path = Path(config.rootpath) / "reports" / "reliability-matrix.md"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("# Reliability matrix\n\n" + text, "utf-8")
    except OSError as exc:
        terminalreporter.write_line(f"reliability matrix not written to {path}: {exc}")
        return
    terminalreporter.write_line(f"reliability matrix: {path}")
