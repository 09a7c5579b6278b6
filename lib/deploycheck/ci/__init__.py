"""deploycheck inside GitHub Actions: running one command with the step summary and outputs
(:mod:`.actions`), and the drift issue (:mod:`.issue`).
"""

from __future__ import annotations

from deploycheck.ci.actions import (
    COMMANDS,
    CiRequest,
    CiResult,
    append_summary,
    run_ci_command,
    write_outputs,
)
from deploycheck.ci.issue import (
    DEFAULT_LABEL,
    IssueResult,
    drift_issue_body,
    load_drift,
    sync_drift_issue,
)

__all__ = [
    "COMMANDS",
    "DEFAULT_LABEL",
    "CiRequest",
    "CiResult",
    "IssueResult",
    "append_summary",
    "drift_issue_body",
    "load_drift",
    "run_ci_command",
    "sync_drift_issue",
    "write_outputs",
]
