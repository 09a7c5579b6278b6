"""Check outcomes, ``results.json`` and run summaries (:mod:`.results`), and merging the
reports of sharded runs (:mod:`.merge`).
"""

from __future__ import annotations

from deploycheck.report.dashboard import DriftRow, TargetRow, render_dashboard, verdict_class
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
    RESOURCE_PROPERTY,
    TARGET_PROPERTY,
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
from deploycheck.report.rootcause import Cause, CauseKind, group_causes, render_causes

__all__ = [
    "ENV_PROPERTY",
    "MESSAGE_PROPERTY",
    "OUTCOME_PROPERTY",
    "PLATFORM_PROPERTY",
    "RESOURCE_PROPERTY",
    "TARGET_PROPERTY",
    "Cause",
    "CauseKind",
    "CheckRecord",
    "DriftRow",
    "MergeResult",
    "Outcome",
    "Results",
    "TargetRow",
    "group_causes",
    "holds_secret",
    "load_results",
    "merge_html",
    "merge_junit",
    "merge_reports",
    "merge_results",
    "redact_tree",
    "render_causes",
    "render_dashboard",
    "render_markdown",
    "summary_lines",
    "verdict",
    "verdict_class",
    "warn_message",
]
