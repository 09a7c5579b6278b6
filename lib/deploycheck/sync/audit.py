"""The write-ahead audit of a sync: intent before the first write, then completion or interruption.

:func:`apply_with_audit` appends an ``intent`` line (the keys about to be written, with
fingerprints) before any write, applies through :meth:`deploycheck.sync.run.Syncer.apply`
(which saves the ledger after each target's batch), then appends the ``completed`` line,
or, when the run is interrupted (Ctrl-C, any escaping exception), an ``interrupted`` line
listing what was applied, before the exception goes on. A ``kill -9`` leaves the intent
line without an end: :func:`unfinished_runs` finds such runs, so the next sync can say
that writes of an earlier run may have landed unrecorded (the plan rewrites them, since
the ledger has no record of them).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deploycheck.state import StateBackend
    from deploycheck.sync.model import SyncReport
    from deploycheck.sync.run import Syncer

__all__ = ["apply_with_audit", "unfinished_runs"]


def apply_with_audit(syncer: Syncer, report: SyncReport, store: StateBackend) -> SyncReport:
    """Apply ``report`` with ``syncer``, the audit log written ahead (see the module docstring)."""
    run_id = uuid.uuid4().hex
    if report.writes:
        store.append_audit(report.intent_event(run_id))
    try:
        syncer.apply(report)
    except BaseException:
        report.interrupted = True
        store.append_audit({**report.audit_event(), "run_id": run_id})
        raise
    store.append_audit({**report.audit_event(), "run_id": run_id})
    return report


def unfinished_runs(store: StateBackend, *, env: str | None = None) -> list[dict[str, Any]]:
    """Intent lines of sync runs with no completion or interruption line, and no finished run of
    their environment after them (killed runs whose writes nobody re-planned yet)."""
    intents: dict[str, dict[str, Any]] = {}
    for event in store.read_audit():  # every backend's events, oldest first
        run_id = event.get("run_id") if isinstance(event, dict) else None
        if not run_id or event.get("event") != "sync-env":
            continue
        if event.get("phase") == "intent":
            intents[run_id] = event
        else:  # a finished run of the environment re-planned from the platforms: earlier kills are healed
            intents = {k: v for k, v in intents.items() if k != run_id and v.get("env") != event.get("env")}
    return [e for e in intents.values() if env is None or e.get("env") == env]
