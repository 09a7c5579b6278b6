"""Drift detection: findings and reports (:mod:`.model`), the comparison rules
(:mod:`.compare`), the run (:mod:`.run`), rendering (:mod:`.render`) and the baseline
(:mod:`.baseline`).
"""

from __future__ import annotations

from deploycheck.drift.baseline import (
    BASELINE_NAME,
    Baseline,
    BaselineEntry,
    default_baseline_path,
    load_baseline,
)
from deploycheck.drift.compare import compare_target, newest_marker, sync_command
from deploycheck.drift.model import (
    DRIFT_STATES,
    DriftReport,
    DriftState,
    ExpectedVar,
    Finding,
    LedgerRecord,
    LedgerView,
    Note,
    TargetError,
    TargetReading,
    TargetSummary,
)
from deploycheck.drift.render import (
    FORMATS,
    render,
    render_json,
    render_markdown,
    render_text,
    report_dict,
)
from deploycheck.drift.run import (
    DriftTarget,
    detect_drift,
    drift_cases,
    expected_vars,
    open_ledger,
    plan_targets,
    read_target,
    resolve_sot_path,
    run,
    run_drift,
    sync_mode,
)

__all__ = [
    "BASELINE_NAME",
    "DRIFT_STATES",
    "FORMATS",
    "Baseline",
    "BaselineEntry",
    "DriftReport",
    "DriftState",
    "DriftTarget",
    "ExpectedVar",
    "Finding",
    "LedgerRecord",
    "LedgerView",
    "Note",
    "TargetError",
    "TargetReading",
    "TargetSummary",
    "compare_target",
    "default_baseline_path",
    "detect_drift",
    "drift_cases",
    "expected_vars",
    "load_baseline",
    "newest_marker",
    "open_ledger",
    "plan_targets",
    "read_target",
    "render",
    "render_json",
    "render_markdown",
    "render_text",
    "report_dict",
    "resolve_sot_path",
    "run",
    "run_drift",
    "sync_command",
    "sync_mode",
]
