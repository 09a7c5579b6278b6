"""A split already in effect when a gradual deploy starts: whose it is, and continuing or reverting it.

A Ctrl-C, a crash or a lost connection can stop a rollout between two steps. The Worker then
serves two versions, and the audit log's last ``deploy-gradual`` event of the target is not
``done`` or ``reverted`` (:func:`deploycheck.verify.split.unfinished_rollout`). A re-run
finds the split before anything else runs (:func:`check_splits`, before the drift gate):
``--resume continue`` moves on through the remaining steps with the same gates, ``--resume
revert`` puts 100% back on the old version and deploys nothing new; without either, a
terminal is asked and anything else is refused (exit 2, nothing changed).

A split deploycheck did not make (``wrangler versions deploy A@90 B@10``) is resolved the
same way, with the newer version (by version number) as the new one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from deploycheck.deploy.readback import Snapshot, read_snapshot
from deploycheck.deploy.render import StepOutcome
from deploycheck.errors import Problem, UsageError
from deploycheck.verify.split import Split, active_split, unfinished_rollout

if TYPE_CHECKING:
    from deploycheck.deploy.gradual.rollout import Rollout
    from deploycheck.state import StateBackend

__all__ = ["RESUME_CHOICES", "check_splits", "resolve_split", "split_sides"]

RESUME_CHOICES = ("continue", "revert")


def split_sides(
    split: Split, adapter: Any, events: Sequence[dict[str, Any]], env: str, target: str
) -> tuple[str, str, bool]:
    """(old, new, whether deploycheck's own rollout made it) of a two-version split."""
    record = unfinished_rollout(events, env, target)
    if record is not None and {record.get("old_version"), record.get("new_version")} == set(split.ids):
        return str(record["old_version"]), str(record["new_version"]), True
    numbers = {v.id: v.number or 0 for v in adapter.list_versions(limit=100)}
    ordered = sorted(split.ids, key=lambda v: numbers.get(v, 0))
    return ordered[0], ordered[-1], False


def check_splits(
    adapters: dict[str, Any],
    store: StateBackend | None,
    env: str,
    resume: str | None,
    ask: Callable[[str], bool] | None,
) -> str | None:
    """Before anything runs: the resume choice for the targets (name -> adapter) whose Worker is split.

    Returns ``resume`` (or the answer asked in a terminal); raises UsageError when a split is in
    progress and there is neither.
    """
    events = store.read_audit() if store is not None else []
    for target, adapter in adapters.items():
        split = active_split(adapter.list_deployments())
        if split is None:
            continue
        if resume is not None:
            old, new, ours = split_sides(split, adapter, events, env, target)
            if ours and store is not None:
                _heal_marker(store, env, target, adapter, split)
            continue
        if len(split.versions) != 2:
            continue  # resolve_split refuses it with the reason
        old, new, ours = split_sides(split, adapter, events, env, target)
        if ours and store is not None:
            _heal_marker(store, env, target, adapter, split)
        whose = "an interrupted deploycheck rollout" if ours else "a split not made by this deploycheck"
        question = (
            f"{target}: {whose} is in progress ({split.describe()}). Continue the rollout of {new} "
            f"[y], or revert to 100% on {old} [N]? "
        )
        if ask is not None:
            return "continue" if ask(question) else "revert"
        raise UsageError(
            [
                Problem(
                    "--resume",
                    f"{target}: {whose} is in progress: {split.describe()} (old {old}, new {new}); "
                    "nothing was changed.",
                    hint=f"Re-run with --resume continue (go on to 100% on {new}) or --resume revert "
                    "(100% back on "
                    f"{old}), or roll back with `deploycheck rollback cloudflare-worker --env {env}`.",
                )
            ]
        )
    return resume


def _heal_marker(store: StateBackend, env: str, target: str, adapter: Any, split: Split) -> None:
    """A rollout stopped between creating a deployment and recording it leaves the ledger's marker
    one move behind; the rollout's own audit trail vouches for the versions, so it follows."""
    from deploycheck.deploy.gradual.rollout import follow_marker

    current = adapter.active_version()
    if current is not None:
        follow_marker(store, env, target, adapter, allowed=set(split.ids), after=current)


def resolve_split(rollout: Rollout, split: Split, before: Snapshot) -> StepOutcome:
    """Continue or revert the split in effect, as ``rollout.resume`` says."""
    from deploycheck.deploy.gradual.rollout import advance

    step = rollout.step
    if len(split.versions) != 2:
        count = len(split.versions)
        why = f"the active deployment splits traffic between {count} versions ({split.describe()})"
        return StepOutcome(
            step,
            "failed",
            why + "; resolve it by hand (deploycheck rollback cloudflare-worker)",
            before=before,
        )
    events = rollout.store.read_audit() if rollout.store is not None else []
    old, new, ours = split_sides(split, rollout.adapter, events, rollout.env, step.target)
    whose = "an interrupted deploycheck rollout" if ours else "a split not made by this deploycheck"
    rollout.write(f"   {whose} is in progress: {split.describe()} (old {old}, new {new})")
    if rollout.resume == "revert":
        deployment = rollout.revert(old, new, split.share(new), "--resume revert")
        after = read_snapshot(rollout.adapter, step.platform)
        why = (
            f"the split in progress ({split.describe()}) was reverted: 100% on {old} (deployment "
            f"{deployment}); nothing new was deployed, run the deploy again to deploy"
        )
        return StepOutcome(step, "skipped", why, before=before, after=after)
    if rollout.resume != "continue":
        why = f"a split is in progress ({split.describe()}); pass --resume continue or --resume revert"
        return StepOutcome(step, "failed", why, before=before)
    current = split.share(new)
    remaining = tuple(s for s in rollout.settings.steps if s > current) or (100.0,)
    rollout.audit("resumed", old_version=old, new_version=new, percent=current, ours=ours)
    rollout.write(f"   continuing from {current:g}%: {' -> '.join(f'{s:g}%' for s in remaining)}")
    return advance(rollout, old, new, remaining, before)
