"""Running rollbacks: preconditions, the printed plan, confirmation, execution, verification, audit.

:func:`run` rolls back one platform or several of a resolved environment in a safe order,
stopping at the first failure (:func:`roll_back`, for an environment's name);
:func:`advise` prints what the decision matrix says without changing anything. Both
write their report to ``out`` and return an exit code (0 done, 1 refused or failed); bad
input raises an InputError before any request is made.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

from deploycheck.config import Environment, ProjectConfig, Target
from deploycheck.errors import DeploycheckError, Problem, RollbackError, UsageError
from deploycheck.platforms import get_spec, rollbackable
from deploycheck.platforms.base import DeploymentPlatform
from deploycheck.platforms.history import CodeHistory
from deploycheck.platforms.reads import missing_read
from deploycheck.rollback.around import ActionChoice, Landed, Prepared, aftercare, ask, plan_lines, prepare
from deploycheck.rollback.gradual import note_split, record_resolved, split_of
from deploycheck.rollback.schema import Evaluator, enforce, git
from deploycheck.rollback.steps import Plan, execute, plan_convex, plan_pages, plan_worker
from deploycheck.rollback.targets import HISTORY_LIMIT, execute_code, mark_with_config, plan_code, scope
from deploycheck.rollback.verify import audit, reason_required, setting, verify_platform, worker_state
from deploycheck.verify.split import Split

__all__ = ["RollbackOptions", "plan_platform", "repo_root", "roll_back", "rollback_order", "run"]



@dataclass
class RollbackOptions:
    """What the user asked for (see ``deploycheck rollback --help``)."""

    env: str
    to: str | None = None
    from_ref: str = "HEAD"
    target: str | None = None
    convex_dir: str | None = None
    schema_eval: Evaluator = "auto"
    dry_run: bool = False
    yes: bool = False
    force: bool = False
    reason: str | None = None
    verify: bool = True
    interactive: bool = False
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    confirm: Callable[[str], bool] | None = None
    #: roll configuration back with the code (the Worker's old bindings and secrets)
    with_config: bool = False
    #: post-rollback actions to run (``--action``) and to skip (``--skip-action``)
    actions: tuple[str, ...] = ()
    skip_actions: tuple[str, ...] = ()


def _target_for(config: ProjectConfig, platform: str, env: str, name: str | None) -> Target | None:
    targets = config.targets_for(env, (platform,))
    if name is not None:
        chosen = [t for t in targets if t.name == name]
        if not chosen:
            valid = ", ".join(t.name for t in targets) or "(none)"
            raise UsageError(
                [Problem("--target", f"no {platform} target {name!r} in {env}; valid: {valid}.")]
            )
        return chosen[0]
    if len(targets) > 1:
        valid = ", ".join(t.name for t in targets)
        raise UsageError([Problem("--target", f"{env} has several {platform} targets ({valid}); pick one.")])
    return targets[0] if targets else None


def repo_root(config: ProjectConfig) -> Path:
    """The git work tree holding deploycheck.yaml (UsageError when there is none)."""
    return Path(git(config.root, "rev-parse", "--show-toplevel").stdout.strip())


def convex_folder(config: ProjectConfig, target: Target, env: str, override: str | None) -> str:
    """The Convex folder relative to the git root: --convex-dir, the target's ``convex_dir``,
    ``rollback.convex_dir``, the target's ``deploy_cwd``, else the platform's ``code_dir``
    (``convex``)."""
    params = target.params(env) or {}
    raw = (
        override
        or params.get("convex_dir")
        or config.rollback.get("convex_dir")
        or params.get("deploy_cwd")
        or get_spec(target.platform).code_dir
        or "."
    )
    root = repo_root(config)
    path = config.resolve_path(str(raw)).resolve()
    try:
        return path.relative_to(root.resolve()).as_posix() or "."
    except ValueError:
        raise UsageError(
            [Problem("--convex-dir", f"{path} is not inside the git repository {root}.")]
        ) from None


def _plan_push(config: ProjectConfig, target: Target, options: RollbackOptions) -> Plan:
    """The rollback of a platform that redeploys code from an earlier git ref (Convex)."""
    folder = convex_folder(config, target, options.env, options.convex_dir)
    params = dict(target.params(options.env) or {})
    plan = plan_convex(
        repo_root(config), target.name, params, folder, from_ref=options.from_ref, to=options.to,
        evaluator=options.schema_eval, platform=target.platform,
    )
    line = "mode:    code rollback: environment variables stay as they are (Convex does not version them)"
    return replace(plan, mode="code", details=(*plan.details, line))


def plan_platform(
    config: ProjectConfig, platform: str, target: Target, options: RollbackOptions
) -> tuple[Plan, DeploymentPlatform | None]:
    """Plan the rollback of ``target`` (reads only); return the plan and the adapter (None for Convex)."""
    model = get_spec(platform).deploy_model
    if model == "push":
        return _plan_push(config, target, options), None
    from deploycheck.platforms import open_target

    adapter = open_target(config, target, options.env, options.environ)
    if not isinstance(adapter, DeploymentPlatform):
        raise missing_read(adapter, DeploymentPlatform, "a rollback")
    if model == "version" and options.to is None and split_of(adapter) is not None:
        # a gradual rollout in progress: stopping it puts 100% back on the version that served
        # before it (the deployment before the split), rather than building a new version
        plan = plan_worker(adapter, target.name, None)
        line = "mode:    stop the gradual rollout: 100% back to the version that served before it"
        return replace(plan, details=(*plan.details, line)), adapter
    history = get_spec(platform).code_history
    if history is not None and not (options.with_config and history.versions_config):
        return plan_code(history, adapter, target.name, options.to, with_config=options.with_config), adapter
    if model == "deployment":
        return plan_pages(adapter, target.name, options.to), adapter
    if history is None:
        return plan_worker(adapter, target.name, options.to), adapter
    return _plan_with_config(history, adapter, target, options.to), adapter


def _plan_with_config(
    history: CodeHistory, adapter: DeploymentPlatform, target: Target, to: str | None
) -> Plan:
    """``--with-config``: the same target as a code rollback, deployed as it is (its own bindings)."""
    code_plan = plan_code(history, adapter, target.name, to, with_config=True)
    revisions = history.revisions(adapter, limit=HISTORY_LIMIT)
    chosen = to if to is not None and code_plan.to is None else code_plan.to
    if chosen is None:
        return code_plan
    return mark_with_config(plan_worker(adapter, target.name, chosen), revisions)


def _print_plan(plan: Plan, env: str, out: TextIO, lines: Sequence[str] = ()) -> None:
    print(f"== Rollback of {plan.platform} ({plan.target}: {plan.resource}) in {env}", file=out)
    print("  What this rollback reverts:", file=out)
    for what, how in scope(plan):
        print(f"    {what + ':':<22} {how}", file=out)
    print("  Plan:", file=out)
    for line in plan.details:
        print(f"    {line}", file=out)
    if plan.problem:
        print(f"    nothing to do: {plan.problem}", file=out)
    elif plan.action:
        print(f"    step: {plan.action}", file=out)
    for line in lines:
        print(f"    {line}", file=out)


def _preconditions(environment: Environment, options: RollbackOptions) -> None:
    problems: list[Problem] = []
    if reason_required(environment) and not (options.reason or "").strip():
        problems.append(
            Problem(
                "--reason",
                f"environment {options.env!r} is a production environment (remote: "
                'true, values: prod): every rollback there needs --reason "why".',
                hint="The reason is recorded in the audit log.",
            )
        )
    if options.force and not (options.reason or "").strip():
        problems.append(Problem("--force", '--force needs --reason "why" (recorded in the audit log).'))
    if not options.dry_run and not options.yes and not options.interactive:
        problems.append(
            Problem(
                "--yes",
                "not running in a terminal: a rollback that changes anything needs "
                "--yes (or --dry-run to only see the plan).",
            )
        )
    if problems and options.dry_run:
        # a dry run needs nothing only a real run needs: show the plan and say what is missing
        for problem in problems:
            sys.stderr.write(f"note: the real rollback needs {problem.source}: {problem.message}\n")
        return
    if problems:
        raise UsageError(problems)


def _event(plan: Plan, options: RollbackOptions, result: str, **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "operation": "rollback",
        "env": options.env,
        "platform": plan.platform,
        "target": plan.target,
        "resource": plan.resource,
        "from": plan.current,
        "to": plan.to,
        "reason": options.reason,
        "forced": options.force,
        "result": result,
    }
    if plan.guard is not None:
        event["schema_guard"] = plan.guard.summary()
        event["schema_read_by"] = plan.guard.how
        event["breaking_changes"] = [str(change) for change in plan.guard.diff.breaking]
        if plan.guard.error:
            event["breaking_changes"].insert(0, plan.guard.error)
        if plan.guard.warnings:
            event["schema_warnings"] = list(plan.guard.warnings)
        if options.force and plan.guard.is_breaking:
            event["schema_guard_overridden"] = True
    event.update(extra)
    return event


def roll_back(config: ProjectConfig, platforms: Sequence[str], options: RollbackOptions, out: TextIO) -> int:
    """:func:`run` for the environment ``options.env`` names (ConfigError when there is none)."""
    return run(config, config.environment(options.env), platforms, options, out)


def run(
    config: ProjectConfig, env: Environment, platforms: Sequence[str], options: RollbackOptions, out: TextIO
) -> int:
    """Roll back ``platforms`` in order in the resolved environment ``env``; stop at the first failure.

    ``options.env`` is set to ``env``'s name. Prints what each rollback reverts and its plan
    first; ``dry_run`` stops there (only reads). Returns 0 when every rollback succeeded and
    verified, 1 otherwise.
    """
    options = replace(options, env=env.name)
    _preconditions(env, options)
    work: list[tuple[Plan, DeploymentPlatform | None]] = []
    splits: dict[str, Split | None] = {}
    prepared: dict[str, Prepared] = {}
    for platform in platforms:
        target = _target_for(config, platform, options.env, options.target)
        if target is None:
            print(f"== {platform}: no target deployed in {options.env}; skipped", file=out)
            continue
        plan, adapter = plan_platform(config, platform, target, options)
        prepared[plan.target] = prepare(config, plan, adapter, options.env, options.environ)
        _print_plan(plan, options.env, out, plan_lines(plan, prepared[plan.target], _choice(options)))
        splits[plan.target] = note_split(adapter, plan.to, options.env, out)
        work.append((plan, adapter))
    _check_action_names(list(prepared.values()), options)
    _enforce_state_checks(config, work, prepared, options, out)
    for plan, _ in work:
        if plan.guard is not None and plan.guard.is_breaking:
            if options.force and options.reason:
                print(
                    f"!! {plan.platform}: breaking schema changes overridden with --force: {options.reason}",
                    file=out,
                )
            elif not options.dry_run:
                audit(config, options.env, _event(plan, options, "refused"))
            enforce(plan.guard, force=options.force, reason=options.reason)
    todo = [(plan, adapter) for plan, adapter in work if plan.is_possible]
    if options.dry_run:
        print("Dry run: nothing was changed.", file=out)
        # a dry run of a rollback that could not be done says so in its exit code too
        return 1 if not todo and any(plan.problem for plan, _ in work) else 0
    if not todo:
        print("Nothing to roll back.", file=out)
        return 1 if any(plan.problem for plan, _ in work) else 0
    if not options.yes:
        question = f"Roll back {', '.join(p.platform for p, _ in todo)} in {options.env}? [y/N] "
        if not (options.confirm or ask)(question):
            print("Cancelled: nothing was changed.", file=out)
            return 1
    return _run_all(config, todo, splits=splits, prepared=prepared, options=options, out=out)


def _run_all(
    config: ProjectConfig,
    todo: list[tuple[Plan, DeploymentPlatform | None]],
    *,
    splits: Mapping[str, Split | None],
    prepared: Mapping[str, Prepared],
    options: RollbackOptions,
    out: TextIO,
) -> int:
    """Run the rollbacks in order, stopping at the first failure; one that ended a gradual
    rollout's split records the rollout as resolved."""
    for plan, adapter in todo:
        done = _run_one(config, plan, adapter, options, out, prepared=prepared[plan.target])
        split = splits.get(plan.target)
        if split is not None and split_of(adapter) is None:
            record_resolved(config, options.env, plan.target, split, plan.to)
        if not done:
            return 1
    return 0


def _enforce_state_checks(
    config: ProjectConfig,
    work: Sequence[tuple[Plan, DeploymentPlatform | None]],
    prepared: Mapping[str, Prepared],
    options: RollbackOptions,
    out: TextIO,
) -> None:
    """Refuse (audited) a rollback whose state check's policy refuses it, unless --force --reason."""
    for plan, _ in work:
        state = prepared[plan.target].state
        if not prepared[plan.target].refuses or state is None:
            continue
        if options.force and options.reason:
            print(f"!! {plan.platform}: the state check's refusal overridden with --force: {options.reason}",
                  file=out)  # fmt: skip
        elif not options.dry_run:
            audit(config, options.env, _event(plan, options, "refused", why="state check"))
            msg = (
                f"{plan.platform}: the state check refuses the rollback: {state.problem}. Nothing was "
                'changed; --force --reason "why" rolls back anyway.'
            )
            raise RollbackError(msg)


def _choice(options: RollbackOptions) -> ActionChoice:
    return ActionChoice(
        run=options.actions, skip=options.skip_actions, interactive=options.interactive and not options.yes,
        ask=options.confirm,
    )


def _check_action_names(prepared: Sequence[Prepared], options: RollbackOptions) -> None:
    known = {a.name for p in prepared for a in p.steps.after}
    unknown = [n for n in (*options.actions, *options.skip_actions) if n not in known]
    if unknown:
        valid = ", ".join(sorted(known)) or "(none configured in rollback.steps)"
        msg = f"no post-rollback action {', '.join(unknown)}; valid: {valid}."
        raise UsageError([Problem("--action", msg)])


def _run_one(
    config: ProjectConfig,
    plan: Plan,
    adapter: DeploymentPlatform | None,
    options: RollbackOptions,
    out: TextIO,
    *,
    prepared: Prepared,
) -> bool:
    message = f"Rollback: {options.reason}" if options.reason else "Rollback"
    redeploys = get_spec(plan.platform).deploy_model == "push"
    folder = (
        convex_folder(config, config.targets[plan.target], options.env, options.convex_dir)
        if redeploys
        else ""
    )
    history = get_spec(plan.platform).code_history
    live, code_after, extra = plan.to, None, {}
    try:
        if history is not None and plan.mode == "code":
            done = execute_code(history, plan, adapter, message=message)
            result, live, code_after, extra = done.description, done.id, done.code, dict(done.facts)
        else:
            result = execute(
                plan,
                adapter,
                force=options.force,
                message=message,
                repo=repo_root(config) if redeploys else None,
                convex_dir=folder,
                environ=options.environ,
                timeout=float(config.deploy.get("timeout", 600)),
            )
            code_after = plan.revision.code if plan.revision is not None else plan.to
    except DeploycheckError as exc:
        audit(config, options.env, _event(plan, options, "failed", error=str(exc)[:500]))
        raise
    print(f"-> {plan.platform}: {result}", file=out)
    extra.pop("config_bindings", None)
    extra.pop("previous_bindings", None)
    if get_spec(plan.platform).durable_state:
        url = setting(config, options.env, "WORKER_URL", options.environ)
        line, state = worker_state(url, live)
        print(f"   Durable Object state: {line}", file=out)
        extra["durable_object"] = state

    def event(result: str, **more: Any) -> dict[str, Any]:
        return _event(plan, options, result, **more)

    landed = Landed(options.env, options.environ, code_after, live, extra.get("config_from"))
    ok, facts = aftercare(
        config, plan, adapter, prepared, landed, choice=_choice(options), event=event, out=out
    )
    extra.update(facts)
    if ok and options.verify:
        ok, output = verify_platform(config, options.env, plan.platform, plan.target)
        print(f"   checks: {'passed' if ok else 'FAILED'}", file=out)
        if not ok:
            print("\n".join(f"     {line}" for line in output.splitlines()[-20:]), file=out)
    result = "ok" if ok else "verification failed"
    audit(config, options.env, _event(plan, options, result, live=live, **extra))
    if not ok:
        print(f"Stopped: the {plan.platform} rollback or its checks failed.", file=out)
    return ok


def rollback_order(config: ProjectConfig) -> tuple[str, ...]:
    """``rollback.order`` of deploycheck.yaml, else Pages, then Worker, then Convex."""
    order = tuple(str(p) for p in config.rollback.get("order") or rollbackable())
    unknown = [p for p in order if p not in rollbackable()]
    if unknown:
        raise UsageError(
            [
                Problem(
                    str(config.path),
                    f"rollback.order names {', '.join(unknown)}; valid: {', '.join(rollbackable())}.",
                    path="rollback.order",
                )
            ]
        )
    return order
