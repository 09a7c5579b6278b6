"""Check outcomes, ``results.json`` and run summaries (:mod:`.results`), and merging the
reports of sharded runs (:mod:`.merge`).
"""

from __future__ import annotations

from deploycheck.report.merge import (
    MergeResult,
    merge_html,
    merge_junit,
    merge_reports,
    merge_results,
)
from deploycheck.report.results import (
    ENV_PROPERTY,
    MESSAGE_PROPERTY,
    OUTCOME_PROPERTY,
    PLATFORM_PROPERTY,
    CheckRecord,
    Outcome,
    Results,
    holds_secret,
    load_results,
    redact_tree,
    render_markdown,
    summary_lines,
    verdict,
    warn_message,
)

__all__ = [
    "ENV_PROPERTY",
    "MESSAGE_PROPERTY",
    "OUTCOME_PROPERTY",
    "PLATFORM_PROPERTY",
    "CheckRecord",
    "MergeResult",
    "Outcome",
    "Results",
    "holds_secret",
    "load_results",
    "merge_html",
    "merge_junit",
    "merge_reports",
    "merge_results",
    "redact_tree",
    "render_markdown",
    "summary_lines",
    "verdict",
    "warn_message",
]
