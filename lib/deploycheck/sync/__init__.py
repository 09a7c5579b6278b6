"""``sync-env``: the whole operation (:func:`run`, in :mod:`.operation`), plans per target
(:mod:`.plan`), the request and report (:mod:`.model`), and the syncer that applies them
(:mod:`.run`).
"""

from __future__ import annotations

from deploycheck.sync.audit import apply_with_audit, unfinished_runs
from deploycheck.sync.local import local_file_problems, readers_of
from deploycheck.sync.model import MODES, Mode, SyncReport, SyncRequest, TargetOutcome
from deploycheck.sync.operation import run
from deploycheck.sync.plan import Action, PlanItem, TargetPlan, plan_target
from deploycheck.sync.run import Opener, Syncer

__all__ = [
    "MODES",
    "Action",
    "Mode",
    "Opener",
    "PlanItem",
    "SyncReport",
    "SyncRequest",
    "Syncer",
    "TargetOutcome",
    "TargetPlan",
    "apply_with_audit",
    "local_file_problems",
    "plan_target",
    "readers_of",
    "run",
    "unfinished_runs",
]
