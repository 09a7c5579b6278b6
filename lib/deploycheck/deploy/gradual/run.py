"""The entry point of one target's gradual deploy: resolve a split in progress, or upload and roll out."""

from __future__ import annotations

from deploycheck.deploy.gradual.resume import resolve_split
from deploycheck.deploy.gradual.rollout import Rollout, advance, failed_outcome, upload
from deploycheck.deploy.readback import read_snapshot
from deploycheck.deploy.render import StepOutcome
from deploycheck.errors import DeploycheckError
from deploycheck.verify.split import active_split

__all__ = ["run_gradual"]


def run_gradual(rollout: Rollout) -> StepOutcome:
    """Deploy ``rollout.step`` gradually; see the module docstring. Never raises a DeploycheckError."""
    step = rollout.step
    rollout.write(f"== {step.label} -> {step.resource}: gradual deploy, {rollout.settings.describe()}")
    try:
        before = read_snapshot(rollout.adapter, step.platform)
        split = active_split(before.details.values())
        if split is not None:
            return resolve_split(rollout, split, before)
        old = before.active
        if old is None:
            why = "no version serves traffic yet: deploy the Worker once with its deploy command first"
            return failed_outcome(rollout, why, before)
        new, failure, result = upload(rollout, before)
        if failure is not None or new is None:
            assert failure is not None
            return failure
        rollout.audit("start", old_version=old, new_version=new)
        rollout.write(f"   new version {new} uploaded; old version {old} serves 100%")
        return advance(rollout, old, new, rollout.settings.steps, before, command=result)
    except DeploycheckError as exc:
        return failed_outcome(rollout, f"the gradual deploy stopped: {exc}", None, partial=True)
