"""What a ``sync-env`` run asks for and what it reports: :class:`SyncRequest`, outcomes, report.

:class:`SyncRequest` (mode, environment, narrowing) picks the value column;
:class:`TargetOutcome` holds one target's plan and what was applied, failed or left
unconfirmed; :class:`SyncReport` gathers them, as JSON and as the audit-log line (names,
actions and fingerprints only, never values). :class:`deploycheck.sync.run.Syncer` fills them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from deploycheck.errors import DeploycheckError

if TYPE_CHECKING:
    from deploycheck.sot import Column
    from deploycheck.sync.plan import TargetPlan

__all__ = ["MODES", "Mode", "SyncReport", "SyncRequest", "TargetOutcome"]

Mode = Literal["local", "deploy-dev", "deploy-prod"]
MODES: tuple[str, ...] = ("local", "deploy-dev", "deploy-prod")


@dataclass(frozen=True)
class SyncRequest:
    """What to sync: the mode, the environment whose platforms to write, and narrowing."""

    mode: Mode
    env: str
    dry_run: bool = False
    only: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    prune: bool = False
    force: bool = False
    #: keys absent from the table to delete on the platform whoever created them (``--remove``)
    remove: tuple[str, ...] = ()

    @property
    def column(self) -> Column:
        """The value column: DEV for local and deploy-dev, PROD for deploy-prod."""
        return "prod" if self.mode == "deploy-prod" else "dev"


@dataclass
class TargetOutcome:
    """One target's plan and, after applying, what was and was not applied."""

    target: str
    plan: TargetPlan | None = None
    error: str | None = None
    applied: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    unconfirmed: list[str] = field(default_factory=list)
    unconfirmed_reasons: dict[str, str] = field(default_factory=dict)
    readback: str = "not needed"
    attempted: bool = False
    exception: DeploycheckError | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """True when the target was read, and everything planned was applied and confirmed."""
        return self.error is None and not self.failed and not self.unconfirmed

    @property
    def status(self) -> str:
        """unreadable | failed | partial | applied | unchanged | planned."""
        if self.plan is None:
            return "unreadable"
        if self.failed or self.unconfirmed or self.error:
            return "partial" if self.applied else "failed"
        if self.attempted and self.applied:
            return "applied"
        return "planned" if self.plan.writes and not self.attempted else "unchanged"

    @property
    def not_applied(self) -> list[str]:
        """Keys planned for writing that were not applied (or not confirmed)."""
        if self.plan is None:
            return []
        done = set(self.applied) - set(self.unconfirmed)
        return [i.key for i in self.plan.writes if i.change().name not in done]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (no values of secrets)."""
        return {
            "target": self.target,
            "status": self.status,
            "error": self.error,
            "plan": self.plan.to_dict() if self.plan else None,
            "applied": self.applied,
            "failed": self.failed,
            "unconfirmed": self.unconfirmed,
            "unconfirmed_reasons": self.unconfirmed_reasons,
            "not_applied": self.not_applied if self.attempted else [],
            "readback": self.readback,
        }


@dataclass
class SyncReport:
    """The result of planning (and maybe applying) one sync."""

    request: SyncRequest
    sot: str
    outcomes: list[TargetOutcome]
    warnings: list[str] = field(default_factory=list)
    applied: bool = False
    interrupted: bool = False
    #: the plan was shown and not confirmed: nothing was written
    declined: bool = False

    @property
    def ok(self) -> bool:
        """True when every target was read and, if applied, fully applied."""
        return all(o.ok for o in self.outcomes)

    @property
    def writes(self) -> int:
        """How many keys the plan writes (add, change, remove) across targets."""
        return sum(len(o.plan.writes) for o in self.outcomes if o.plan)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (no values of secrets)."""
        return {
            "mode": self.request.mode,
            "env": self.request.env,
            "column": self.request.column,
            "dry_run": self.request.dry_run,
            "sot": self.sot,
            "applied": self.applied,
            "ok": self.ok,
            "warnings": self.warnings,
            "targets": [o.to_dict() for o in self.outcomes],
        }

    def intent_event(self, run_id: str) -> dict[str, Any]:
        """The audit line written before the first write: what this run is about to write."""
        return {
            "event": "sync-env",
            "phase": "intent",
            "run_id": run_id,
            "mode": self.request.mode,
            "env": self.request.env,
            "column": self.request.column,
            "targets": [o.target for o in self.outcomes],
            "writes": {
                o.target: [
                    {"key": i.key, "action": i.action, "secret": i.secret, "fingerprint": i.fingerprint}
                    for i in o.plan.writes
                ]
                for o in self.outcomes
                if o.plan is not None and o.plan.writes
            },
        }

    def audit_event(self) -> dict[str, Any]:
        """The audit-log line of this sync: names, actions, fingerprints and results only."""
        keys = {
            o.target: [
                {"key": i.key, "action": i.action, "secret": i.secret, "fingerprint": i.fingerprint}
                for i in (o.plan.items if o.plan else ())
                if i.action != "extra"
            ]
            for o in self.outcomes
        }
        failed = {
            o.target: sorted(set(o.not_applied) | ({"*"} if o.plan is None else set())) for o in self.outcomes
        }
        return {
            "event": "sync-env",
            "mode": self.request.mode,
            "env": self.request.env,
            "column": self.request.column,
            "targets": [o.target for o in self.outcomes],
            "keys": keys,
            "applied": {o.target: o.applied for o in self.outcomes},
            "not_applied": {t: k for t, k in failed.items() if k},
            "result": "ok" if self.ok else ("partial" if any(o.applied for o in self.outcomes) else "failed"),
            "phase": "interrupted" if self.interrupted else "completed",
        }
