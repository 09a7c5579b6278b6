"""The outcome of a coordinated deploy: the gate, each step, the verification, the summary.

Also the rollback commands the summary prints: each platform's rollback boundary is what
served traffic before the deploy (the Pages deployment, the Worker version) or, for
Convex, the git commit of its last successful deploy in the audit log.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TextIO

from deploycheck.deploy.command import CommandResult
from deploycheck.deploy.plan import DeployPlan, DeployStep
from deploycheck.deploy.readback import Produced, Snapshot
from deploycheck.deploy.verify import Verification
from deploycheck.platforms import get_spec
from deploycheck.redact import redact

if TYPE_CHECKING:
    from deploycheck.config import ProjectConfig
    from deploycheck.state import StateBackend

__all__ = [
    "DeployReport",
    "GateResult",
    "StepOutcome",
    "previous_deploy_commit",
    "print_summary",
    "rollback_command",
    "rollback_commands",
]

Status = Literal["deployed", "failed", "skipped"]


@dataclass(frozen=True)
class GateResult:
    """The pre-deploy drift check: whether it passed, its exit code, and its report as text."""

    passed: bool
    exit_code: int
    summary: str
    report: str = ""


@dataclass
class StepOutcome:
    """How one target's deploy ended."""

    step: DeployStep
    status: Status
    reason: str = ""
    command: CommandResult | None = None
    before: Snapshot | None = None
    after: Snapshot | None = None
    produced: Produced | None = None
    partial: bool = False

    def to_event(self, env: str) -> dict[str, Any]:
        """The audit-log line of this step (ids, times and results; never output or values)."""
        event: dict[str, Any] = {
            "operation": "deploy",
            "env": env,
            "platform": self.step.platform,
            "target": self.step.target,
            "resource": self.step.resource,
            "command": self.step.command,
            "result": self.status,
            "before": self.before.to_event() if self.before else None,
            "after": self.after.to_event() if self.after else None,
        }
        if self.command is not None:
            event["exit_code"] = self.command.exit_code
            event["timed_out"] = self.command.timed_out
            event["duration_s"] = round(self.command.duration, 1)
        if self.produced is not None:
            event["produced"] = self.produced.to_event()
        if self.reason:
            event["reason"] = self.reason[:500]
        if self.partial:
            event["partial"] = True
        return event


@dataclass
class DeployReport:
    """Everything one deploy did: the gate, each step, the verification."""

    env: str
    plan: DeployPlan
    gate: GateResult | None = None
    outcomes: list[StepOutcome] = field(default_factory=list)
    verification: Verification | None = None
    dry_run: bool = False
    stopped_by_gate: bool = False
    cancelled: bool = False
    rollbacks: list[str] = field(default_factory=list)
    undo: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 every step deployed and verified, 1 otherwise (2 when the gate hit bad input)."""
        if self.stopped_by_gate:
            return 2 if self.gate is not None and self.gate.exit_code == 2 else 1
        if self.cancelled:
            return 1
        if self.dry_run:
            return 0
        if any(o.status != "deployed" for o in self.outcomes):
            return 1
        if self.verification is not None and not self.verification.passed:
            return 1
        return 0


def previous_deploy_commit(store: StateBackend | None, env: str, platform: str) -> str | None:
    """The git commit of the last successful deploy of ``platform`` (audit log), when it is not HEAD."""
    from deploycheck.state.ledger import git_commit

    if store is None:
        return None
    found = None
    for event in store.read_audit():
        if (
            event.get("operation") == "deploy"
            and event.get("env") == env
            and event.get("platform") == platform
            and event.get("result") == "deployed"
        ):
            found = event.get("commit")
    return str(found) if found and found != git_commit(store.root) else None


def rollback_command(
    outcome: StepOutcome, env: str, previous_commit: str | None, several: bool, reason: str = ""
) -> str:
    """The ``deploycheck rollback`` command returning ``outcome``'s target to what served before."""
    before = outcome.before
    words = ["deploycheck", "rollback", outcome.step.platform, "--env", env]
    if several:
        words += ["--target", outcome.step.target]
    model = get_spec(outcome.step.platform).deploy_model
    if model == "deployment" and before is not None and before.active:
        words += ["--to", before.active]
    elif model == "version" and before is not None and before.active:
        words += ["--to", before.active if "," not in before.active else str(before.deployment)]
    elif model == "push" and previous_commit:
        words += ["--to", previous_commit]
    why = reason or ("deploy failed" if outcome.status == "failed" else "post-deploy verification failed")
    words += ["--reason", why]
    return shlex.join(words)


def print_summary(report: DeployReport, out: TextIO) -> None:
    out.write(f"\nDeploy summary ({report.env}):\n")
    width = max((len(o.step.label) for o in report.outcomes), default=0)
    for outcome in report.outcomes:
        status = outcome.status.upper() if outcome.status == "failed" else outcome.status
        detail = (
            outcome.produced.describe()
            if outcome.status == "deployed" and outcome.produced
            else outcome.reason
        )
        out.write(redact(f"  {outcome.step.label:<{width}}  {status:<8}  {detail}") + "\n")
        if outcome.status == "failed" and outcome.command is not None and outcome.command.tail:
            out.write("      last lines:\n")
            for line in outcome.command.tail[-8:]:
                out.write(redact(f"        {line}") + "\n")
    if report.verification is not None:
        out.write(redact(f"Verification: {report.verification.describe()}") + "\n")
        if report.verification.results is not None:
            out.write(f"  reports: {report.verification.results.parent}\n")
    elif report.outcomes and not any(o.status == "deployed" for o in report.outcomes):
        out.write("Verification: not run (nothing was deployed)\n")
    if report.rollbacks:
        out.write("Roll back the failed platforms with:\n")
        for command in report.rollbacks:
            out.write(f"  {command}\n")
    if report.undo:
        out.write("The release is incomplete; to return the deployed platforms to their state before it:\n")
        for command in report.undo:
            out.write(f"  {command}\n")
    out.write(f"Result: {'OK' if report.exit_code == 0 else 'FAILED'}\n")
    out.flush()


def rollback_commands(
    config: ProjectConfig, report: DeployReport, previous: Mapping[str, str | None]
) -> tuple[list[str], list[str]]:
    """Rollback commands: for each platform whose checks failed or whose failed deploy still
    changed what serves traffic; and, when any deploy failed, for the platforms that deployed
    (each platform's rollback boundary is what it served before this deploy)."""
    failing = set(report.verification.failed_platforms) if report.verification is not None else set()
    any_failed = any(o.status == "failed" for o in report.outcomes)
    needed: list[str] = []
    undo: list[str] = []
    for outcome in report.outcomes:
        several = len(config.targets_for(report.env, (outcome.step.platform,))) > 1
        commit = previous.get(outcome.step.platform)
        command = rollback_command(outcome, report.env, commit, several)
        if (outcome.status == "failed" and outcome.partial) or (
            outcome.status == "deployed" and outcome.step.platform in failing
        ):
            needed.append(command)
        elif outcome.status == "deployed" and any_failed:
            undo.append(rollback_command(outcome, report.env, commit, several, "incomplete release"))
    return needed, undo
