"""Running a gradual deploy of one Worker target: upload, move traffic step by step, gate, soak, revert.

:func:`deploycheck.deploy.gradual.run.run_gradual` replaces a target's deploy command in
``deploycheck deploy``:

1. a split already in effect is resolved first (:mod:`deploycheck.deploy.gradual.resume`);
2. the upload command (``wrangler versions upload``) creates the new version, which serves
   nothing; the version is read back from the API, never parsed from the command's output;
3. each step creates a deployment sending its percentage to the new version and the rest to
   the old one (the body ``wrangler versions deploy`` sends), then runs the gate rounds of
   :mod:`deploycheck.deploy.gradual.gates` every ``interval_s`` for ``soak_s`` and the Worker's
   checks once;
4. the first failed gate puts 100% back on the old version at once and ends the step as failed,
   naming the gate, the step and its figures.

Every move is an audited action (``operation: deploy-gradual``, ``phase`` start, step,
reverted, done or interrupted), written before the next one, so an interrupted rollout
leaves a trail a re-run resolves. Ctrl-C leaves the split as it is, says so, and re-raises.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TextIO

from deploycheck.deploy.command import CommandResult, run_command
from deploycheck.deploy.gradual.gates import GateCheck, evaluate, probe_round
from deploycheck.deploy.gradual.settings import GradualSettings
from deploycheck.deploy.plan import DeployStep, resolve_command
from deploycheck.deploy.readback import Produced, Snapshot, read_snapshot
from deploycheck.deploy.render import StepOutcome
from deploycheck.deploy.verify import Verification
from deploycheck.errors import DeploycheckError
from deploycheck.redact import redact
from deploycheck.verify.split import ROLLOUT_OPERATION

if TYPE_CHECKING:
    from deploycheck.state import StateBackend

__all__ = ["Rollout", "advance", "failed_outcome", "follow_marker", "upload"]


@dataclass
class Rollout:
    """One target's gradual deploy: what it needs, and what it has done so far."""

    env: str
    step: DeployStep
    settings: GradualSettings
    adapter: Any
    health_url: str
    store: StateBackend | None
    out: TextIO
    environ: Mapping[str, str]
    #: the Worker's checks at one step: (percent, new version) -> verification
    checks: Callable[[float, str], Verification] | None = None
    resume: str | None = None
    #: move the ledger's change marker along with each code-only move (the drift gate passed)
    carry: bool = False
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    #: every gate round's results, oldest first: (percent, [checks])
    rounds: list[tuple[float, list[GateCheck]]] = field(default_factory=list)

    def write(self, text: str) -> None:
        """Print one redacted line."""
        self.out.write(redact(text) + "\n")
        self.out.flush()

    def audit(self, phase: str, **facts: Any) -> None:
        """Append one ``deploy-gradual`` event (before the rollout moves on)."""
        if self.store is None:
            return
        event = {
            "operation": ROLLOUT_OPERATION,
            "env": self.env,
            "platform": self.step.platform,
            "target": self.step.target,
            "resource": self.step.resource,
            "phase": phase,
            "steps": list(self.settings.steps),
        }
        event.update(facts)
        self.store.append_audit(event)

    # -- moving traffic ------------------------------------------------------------------------

    def move(self, old: str, new: str, percent: float) -> str:
        """Send ``percent`` of traffic to ``new`` and the rest to ``old``; the deployment id."""
        versions = {new: 100.0} if percent >= 100 else {old: 100.0 - percent, new: percent}
        before = self.adapter.active_version()
        deployment = self.adapter.create_deployment(versions, message=f"deploycheck gradual {percent:g}%")
        self._follow(before)
        self.audit("step", old_version=old, new_version=new, percent=percent, deployment_id=deployment.id)
        self.write(
            f"   step {percent:g}%: deployment {deployment.id} "
            f"({old} {100 - min(percent, 100):g}%, {new} {min(percent, 100):g}%)"
        )
        return str(deployment.id)

    def revert(self, old: str, new: str, percent: float, why: str) -> str:
        """Put 100% of traffic back on ``old``; the deployment id."""
        message = f"Rollback: gradual deploy stopped at {percent:g}% ({why})"
        before = self.adapter.active_version()
        deployment = self.adapter.create_deployment({old: 100.0}, message=message)
        self._follow(before)
        self.audit(
            "reverted",
            old_version=old,
            new_version=new,
            percent=percent,
            deployment_id=deployment.id,
            reason=why[:300],
        )
        self.write(f"   reverted: deployment {deployment.id} sends 100% to {old}")
        return str(deployment.id)

    def _follow(self, before: str | None) -> None:
        after = self.adapter.active_version()
        if self.carry and self.store is not None and before is not None and after is not None:
            allowed = set(before.split(",")) | set(after.split(","))
            follow_marker(self.store, self.env, self.step.target, self.adapter, allowed=allowed, after=after)

    # -- gates ---------------------------------------------------------------------------------

    def gate_step(self, old: str, new: str, percent: float) -> list[GateCheck]:
        """Gate rounds for ``soak_s`` (at least one) and the checks once; stops at the first failure."""
        deadline = self.clock() + self.settings.soak_s
        checked = not (self.settings.verify and self.checks is not None and percent < 100)
        served = answered = 0
        while True:
            probe = probe_round(
                self.health_url,
                self.step.resource,
                old if percent < 100 else None,
                new,
                self.settings.probes,
                healthy_share=self.settings.healthy_share,
            )
            # the traffic share is judged on every unpinned answer of the step so far
            served, answered = served + probe.unpinned_new, answered + probe.unpinned
            probe = replace(probe, unpinned_new=served, unpinned=answered)
            results = evaluate(probe, percent, self.settings)
            self.rounds.append((percent, results))
            failed = [g for g in results if not g.passed]
            if failed:
                return results
            if not checked:
                checked = True
                assert self.checks is not None
                verification = self.checks(percent, new)
                gate = GateCheck("checks", verification.passed, verification.describe())
                results = [*results, gate]
                if not gate.passed:
                    return results
            if self.clock() + self.settings.interval_s > deadline:
                return results
            self.sleep(self.settings.interval_s)


def follow_marker(
    store: StateBackend, env: str, target: str, adapter: Any, *, allowed: set[str], after: str
) -> bool:
    """Move the ledger's change marker of ``target`` to ``after`` when a move changed code only: the
    marker the ledger recorded names versions of ``allowed`` only (the ones this rollout moves
    between), and every one of them carries the same secret bindings (a version upload inherits
    the secrets' values). Any doubt leaves it, so drift reports. Returns whether it moved."""
    from deploycheck.state import move_target_marker

    def code_only(recorded: str | None) -> bool:
        if recorded is None or recorded == after or not set(recorded.split(",")) <= allowed:
            return False
        return len({frozenset(adapter.secret_bindings(v)) for v in allowed}) == 1

    return move_target_marker(store.ledger(), env, target, adapter, after, may_move=code_only)


def failed_outcome(
    rollout: Rollout,
    reason: str,
    before: Snapshot | None,
    command: CommandResult | None = None,
    *,
    partial: bool = False,
) -> StepOutcome:
    return StepOutcome(rollout.step, "failed", reason, command, before, partial=partial)


def upload(rollout: Rollout, before: Snapshot) -> tuple[str | None, StepOutcome | None, CommandResult | None]:
    """Run the upload command; (new version, None, result) or (None, the failed outcome, result)."""
    import shlex

    adapter = rollout.adapter
    known = {v.id for v in adapter.list_versions(limit=20)}
    command = rollout.settings.upload_command
    rollout.write(f"   upload (serves no traffic): {command}")
    result = run_command(
        resolve_command(shlex.split(command)),
        cwd=rollout.step.cwd,
        environ=rollout.environ,
        timeout=rollout.step.timeout,
        out=rollout.out,
        prefix=f"[{rollout.step.platform}] ",
    )
    if not result.ok:
        return (
            None,
            failed_outcome(rollout, f"the upload command {result.describe()}", before, result),
            result,
        )
    fresh = [v for v in adapter.list_versions(limit=20) if v.id not in known]
    if not fresh:
        why = "the upload command exited 0 but no new version appeared"
        return None, failed_outcome(rollout, why, before, result), result
    if adapter.active_version() != before.active:
        why = (
            f"the upload command changed what serves traffic ({before.active} -> {adapter.active_version()})"
        )
        return None, failed_outcome(rollout, why, before, result, partial=True), result
    return str(fresh[0].id), None, result


def advance(
    rollout: Rollout,
    old: str,
    new: str,
    steps: tuple[float, ...],
    before: Snapshot,
    *,
    command: CommandResult | None = None,
) -> StepOutcome:
    """Move through ``steps``, gating each; revert at the first failure."""
    deployment = ""
    percent = 0.0
    try:
        for percent in steps:
            deployment = rollout.move(old, new, percent)
            results = rollout.gate_step(old, new, percent)
            for gate in results:
                rollout.write(f"     {gate.describe()}")
            failed = [g for g in results if not g.passed]
            rollout.audit(
                "gate",
                old_version=old,
                new_version=new,
                percent=percent,
                passed=not failed,
                gates=[{"gate": g.gate, "passed": g.passed, **g.data} for g in results],
            )
            if failed:
                first = failed[0]
                reverted = rollout.revert(old, new, percent, f"{first.gate} gate failed")
                reason = (
                    f"gate {first.gate} failed at step {percent:g}%: {first.figures}; reverted: "
                    f"100% of traffic on the old version {old} (deployment {reverted})"
                )
                if first.gate == "state-version":
                    reason += (
                        "; the Durable Object state is NOT reverted: the old version now reads state "
                        f"version {first.data.get('stored')}, newer than the {first.data.get('old_expects')} "
                        "it expects"
                    )
                after = read_snapshot(rollout.adapter, rollout.step.platform)
                return StepOutcome(rollout.step, "failed", reason, command, before, after, partial=False)
    except DeploycheckError as exc:
        try:
            reverted = rollout.revert(old, new, percent, "platform error")
        except DeploycheckError as again:
            rollout.audit(
                "interrupted", old_version=old, new_version=new, percent=percent, error=str(exc)[:300]
            )
            reason = (
                f"the gradual deploy stopped at step {percent:g}%: {exc}; the revert failed too: {again}. "
                f"Resolve the split with `deploycheck deploy --env {rollout.env} --gradual --resume "
                "continue|revert` or `deploycheck rollback cloudflare-worker`"
            )
            return StepOutcome(rollout.step, "failed", reason, command, before, partial=True)
        reason = (
            f"the gradual deploy stopped at step {percent:g}%: {exc}; reverted: 100% of traffic on the "
            f"old version {old} (deployment {reverted})"
        )
        return StepOutcome(rollout.step, "failed", reason, command, before)
    except KeyboardInterrupt:
        rollout.audit("interrupted", old_version=old, new_version=new, percent=percent)
        rollout.write(
            f"Interrupted at step {percent:g}%: the split stays as it is. Resolve it with "
            "`deploycheck deploy "
            f"--env {rollout.env} --gradual --resume continue|revert`, or `deploycheck rollback "
            f"cloudflare-worker --env {rollout.env}` (100% back on {old})."
        )
        raise
    rollout.audit("done", old_version=old, new_version=new, percent=100.0, deployment_id=deployment)
    after = read_snapshot(rollout.adapter, rollout.step.platform)
    made = Produced("cloudflare-worker", deployment_id=deployment, version_id=new)
    return StepOutcome(rollout.step, "deployed", "", command, before, after, made)
