"""Rollbacks during a gradual Worker rollout: the split in progress, what to do about it, and the trail.

While a Worker serves two versions (``deploycheck deploy --gradual`` between steps, or
``wrangler versions deploy A@90 B@10``), the bad version reaches only its step's share: the
matrix's first move is to stop the rollout (the new version to 0 %, 100 % back on the old
one), which is what ``deploycheck rollback cloudflare-worker`` does then (it sends 100 % to the
last version that served alone). Rolling back past the old version is for when it is bad too
(``--to VERSION``). Continuing instead is ``deploycheck deploy --gradual --resume continue``.

After a rollback that ends a rollout deploycheck started, the audit log records that rollout
as ``resolved``, so a later deploy does not offer to resume it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TextIO

from deploycheck.config import ProjectConfig
from deploycheck.errors import DeploycheckError
from deploycheck.rollback.matrix import MatrixRow, decide
from deploycheck.verify.split import ROLLOUT_OPERATION, Split, active_split

__all__ = ["advise_split", "note_split", "record_resolved", "split_of"]


def split_of(adapter: Any) -> Split | None:
    """The split in progress on ``adapter``'s platform, or None (also when it has no deployments)."""
    deployments = getattr(adapter, "list_deployments", None)
    if adapter is None or deployments is None:
        return None
    try:
        return active_split(deployments())
    except DeploycheckError:
        return None


def _commands(env: str, split: Split, to: str | None) -> str:
    back = f" (100% to {to})" if to else ""
    return (
        f"stop it with `deploycheck rollback cloudflare-worker --env {env}`{back} or `deploycheck deploy "
        f"--env {env} --gradual --resume revert`; continue it with `--resume continue`"
    )


def note_split(adapter: Any, to: str | None, env: str, out: TextIO) -> Split | None:
    """Print, in a rollback's plan, that a gradual rollout is in progress and what this rollback does."""
    split = split_of(adapter)
    if split is not None:
        print(f"    gradual rollout in progress: {split.describe()}", file=out)
        print(
            f"    this rollback stops it (100% to {to}); to continue it instead: deploycheck deploy "
            f"--env {env} --gradual --resume continue",
            file=out,
        )
    return split


def advise_split(
    matrix: Sequence[MatrixRow],
    *,
    severity: str,
    impact: str,
    platform: str,
    adapter: Any,
    env: str | None,
    to: str | None,
    out: TextIO,
) -> None:
    """The matrix's gradual-rollout row for ``platform``: always without an environment, else when a
    split is in progress there now."""
    split = split_of(adapter) if env is not None else None
    if env is not None and split is None:
        return
    decision = decide(matrix, severity, impact, platform, gradual=True)
    row = decision.row
    if row.when != "gradual-rollout":
        return
    print(
        f"  {platform} (during a gradual rollout): {row.action}, {row.timeline}  [matrix: {row.severity} "
        f"/ {row.impact} / {row.platforms_label}]",
        file=out,
    )
    print("    roll back past the old version only if it is bad too (--to VERSION)", file=out)
    if split is not None and env is not None:
        print(
            f"    now: gradual rollout in progress: {split.describe()}; {_commands(env, split, to)}", file=out
        )


def record_resolved(config: ProjectConfig, env: str, target: str, split: Split, to: str | None) -> None:
    """Audit that a rollback ended the gradual rollout of ``target`` (the split it found)."""
    from deploycheck.rollback.verify import audit

    audit(config, env, {
        "operation": ROLLOUT_OPERATION, "env": env, "platform": "cloudflare-worker", "target": target,
        "phase": "resolved", "by": "rollback", "split": [list(v) for v in split.versions], "to": to,
    })  # fmt: skip
