"""Check outcomes, ``results.json`` and run summaries (:mod:`.results`)."""

from __future__ import annotations

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
    "Outcome",
    "Results",
    "holds_secret",
    "load_results",
    "redact_tree",
    "render_markdown",
    "summary_lines",
    "verdict",
    "warn_message",
]
