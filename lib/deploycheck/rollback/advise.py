"""``deploycheck rollback advise``: the decision matrix applied to the platforms as they are now.

Reads only: the deployments of Pages and the Worker, and the Convex schema at two git
refs. Prints, per platform, the matrix's action and timeline and what a rollback would
do now (its target and the schema guard's verdict).
"""

from __future__ import annotations

from typing import TextIO

from deploycheck.config import ProjectConfig
from deploycheck.errors import DeploycheckError
from deploycheck.platforms import get_spec
from deploycheck.rollback.gradual import advise_split
from deploycheck.rollback.matrix import decide, load_matrix, normalize_impact, normalize_severity
from deploycheck.rollback.run import RollbackOptions, _target_for, plan_platform, rollback_order
from deploycheck.rollback.steps import Plan

__all__ = ["advise"]


def _now(plan: Plan | None, error: str) -> str:
    if error:
        return f"could not read the current state: {error}"
    assert plan is not None
    if plan.problem:
        return f"nothing to roll back to: {plan.problem}"
    text = f"roll back from {plan.current} to {plan.to}"
    if plan.guard is not None:
        text += f"; schema guard: {plan.guard.summary()}"
        if plan.guard.is_breaking:
            text += " (the rollback would be REFUSED without --force --reason)"
    return text


def advise(
    config: ProjectConfig, severity: str, impact: str, options: RollbackOptions | None, out: TextIO
) -> int:
    """Print the matrix's decision for each platform; with ``options`` (an environment), also
    what a rollback would do there now. Changes nothing; returns 0."""
    matrix = load_matrix(config.rollback.get("matrix"), str(config.path))
    level = normalize_severity(severity, matrix)
    reach = normalize_impact(impact)
    print(f"Severity {level}, impact {reach}:", file=out)
    for platform in rollback_order(config):
        target = _target_for(config, platform, options.env, options.target) if options else None
        if options is not None and target is None:
            continue
        plan: Plan | None = None
        adapter = None
        error = ""
        if options is not None and target is not None:
            try:
                plan, adapter = plan_platform(config, platform, target, options)
            except DeploycheckError as exc:
                error = str(exc)
        cases = [plan.guard.has_changes] if plan is not None and plan.guard is not None else [False]
        guarded = get_spec(platform).schema_guard
        if guarded and options is None:
            cases = [False, True]
        for schema_changes in cases:
            decision = decide(matrix, level, reach, platform, schema_changes=schema_changes)
            row = decision.row
            label = platform
            if guarded and (options is None or plan is not None):
                label += " (with schema changes)" if schema_changes else " (no schema changes)"
            print(
                f"  {label}: {row.action}, {row.timeline}  [matrix: {row.severity} / {row.impact} / "
                f"{row.platforms_label}]",
                file=out,
            )
            if decision.note:
                print(f"    note: {decision.note}", file=out)
        if options is not None:
            print(f"    now: {_now(plan, error)}", file=out)
        if adapter is not None or options is None:
            env = options.env if options is not None else None
            advise_split(
                matrix, severity=level, impact=reach, platform=platform, adapter=adapter, env=env,
                to=plan.to if plan else None, out=out,
            )
    if options is None:
        print("Pass --env ENV to see what a rollback would do on each platform now.", file=out)
    return 0
