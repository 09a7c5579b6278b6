"""Before and after one rollback: the state check, the post-rollback actions and the report.

:func:`prepare` reads (never writes) what the plan shows and the report compares: the
target's configuration now, and the state check of ``rollback.steps.<TARGET>`` (the
state version the target code expects against the one stored). :func:`plan_lines`
prints both and every post-rollback action. :func:`aftercare` runs after the rollback:
the state check again, the chosen actions (each audited), and the report of what changed
and what did not: code A -> B, configuration key by key, the state version, the data not
reverted, and the target against the source of truth with the command that fixes drift.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from deploycheck.config import ProjectConfig
from deploycheck.errors import DeploycheckError
from deploycheck.platforms import get_spec
from deploycheck.platforms.base import ConfigState
from deploycheck.rollback.report import (
    DriftAfter,
    KeyChange,
    config_changes,
    drift_after,
    read_config,
    restore_command,
)
from deploycheck.rollback.statesteps import (
    StateReading,
    TargetSteps,
    action_url,
    chosen,
    expected_version,
    load_steps,
    read_state,
    run_action,
)
from deploycheck.rollback.steps import Plan
from deploycheck.rollback.verify import audit, setting

__all__ = ["ActionChoice", "Landed", "Prepared", "aftercare", "ask", "plan_lines", "prepare"]


@dataclass(frozen=True)
class ActionChoice:
    """Which post-rollback actions run: named by ``--action``, skipped by ``--skip-action``."""

    run: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    interactive: bool = False
    ask: Callable[[str], bool] | None = None


@dataclass(frozen=True)
class Landed:
    """Where one rollback landed, in ``env``: what :func:`aftercare` and its report compare.

    ``code_after`` is the code now serving; ``live`` the version or deployment id now live;
    ``live_from`` the one whose configuration it inherited (a code rollback), else None.
    """

    env: str
    #: the variables the settings and the drift check read (never in ``repr``: they hold credentials)
    environ: Mapping[str, str] = field(repr=False)
    code_after: str | None
    live: str | None = None
    live_from: str | None = None


@dataclass
class Prepared:
    """What was read before the rollback of one plan."""

    steps: TargetSteps
    before: ConfigState | None = None
    state: StateReading | None = None
    urls: dict[str, str] = field(default_factory=dict)

    @property
    def refuses(self) -> bool:
        """True when the state check's policy refuses this rollback."""
        return (
            self.state is not None
            and bool(self.state.problem)
            and self.steps.state_check is not None
            and self.steps.state_check.policy == "refuse"
        )


def prepare(
    config: ProjectConfig, plan: Plan, adapter: Any, env: str, environ: Mapping[str, str]
) -> Prepared:
    """Read the configuration and the state check before ``plan`` runs (reads only)."""
    steps = load_steps(config, plan.target)
    prepared = Prepared(steps=steps, before=read_config(adapter) if plan.is_possible else None)
    check = steps.state_check
    if check is not None and check.policy != "off" and plan.is_possible:
        history = get_spec(plan.platform).code_history
        target_expects = None
        if history is not None and plan.revision is not None:
            target_expects = expected_version(history.source_files(adapter, plan.revision), check.pattern)
        url = setting(config, env, check.url_setting, environ)
        prepared.state = read_state(url, check, target_expects, when="before")
    for action in steps.after:
        try:
            prepared.urls[action.name] = action_url(action, lambda n: setting(config, env, n, environ))
        except DeploycheckError as exc:
            prepared.urls[action.name] = f"(cannot run: {exc})"
    return prepared


def plan_lines(plan: Plan, prepared: Prepared, choice: ActionChoice) -> list[str]:
    """The state check and the post-rollback actions, as the plan prints them."""
    lines: list[str] = []
    if prepared.state is not None:
        policy = prepared.steps.state_check.policy if prepared.steps.state_check else "warn"
        lines.append(f"state check ({policy}): {prepared.state.line}")
        if prepared.state.problem:
            verdict = "REFUSED unless --force --reason" if policy == "refuse" else "WARNING"
            lines.append(f"  {verdict}: {prepared.state.problem}")
    for action in prepared.steps.after:
        runs = chosen(action, run=choice.run, skip=choice.skip)
        how = "asked at the terminal" if choice.interactive else ("runs" if runs else "skipped")
        text = f"after: {action.name}: {action.method} {prepared.urls.get(action.name, action.url)} ({how}"
        text += f"; default {action.default}; --skip-action/--action {action.name})"
        lines.append(text)
        if action.description:
            lines.append(f"  {action.description}")
    return lines


def _want(action_name: str, runs: bool, url: str, choice: ActionChoice) -> bool:
    if not choice.interactive or action_name in choice.run or action_name in choice.skip:
        return runs
    return (choice.ask or ask)(f"Run the post-rollback action {action_name} ({url})? [y/N] ")


def ask(question: str) -> bool:
    """Ask ``question`` on the terminal (stderr, stdin); True for ``y`` or ``yes``, False at end of input."""
    sys.stderr.write(question)
    sys.stderr.flush()
    try:
        return input().strip().lower() in {"y", "yes"}
    except EOFError:
        return False


def aftercare(
    config: ProjectConfig,
    plan: Plan,
    adapter: Any,
    prepared: Prepared,
    landed: Landed,
    *,
    choice: ActionChoice,
    event: Callable[..., dict[str, Any]],
    out: TextIO,
) -> tuple[bool, dict[str, Any]]:
    """Run the state check after, the actions and the report; return (ok, facts for the audit)."""
    env, environ = landed.env, landed.environ
    facts: dict[str, Any] = {"mode": plan.mode}
    ok = True
    check = prepared.steps.state_check
    if check is not None and check.policy != "off":
        url = setting(config, env, check.url_setting, environ)
        after = read_state(url, check, None, when="after")
        print(f"   state check after: {after.line}", file=out)
        if after.problem:
            print(f"   WARNING: {after.problem}", file=out)
        facts["state_after"] = after.facts
    results = []
    for action in prepared.steps.after:
        url = prepared.urls.get(action.name, action.url)
        runs = chosen(action, run=choice.run, skip=choice.skip)
        if url.startswith("(cannot run"):
            print(f"   after: {action.name}: {url}", file=out)
            results.append({"name": action.name, "result": "not run", "why": url})
            ok = False
            continue
        if not _want(action.name, runs, url, choice):
            print(f"   after: {action.name}: skipped", file=out)
            results.append({"name": action.name, "result": "skipped"})
            continue
        done, line = run_action(action, url)
        print(f"   after: {action.name}: {line}", file=out)
        results.append({"name": action.name, "method": action.method, "url": url,
                        "result": "ok" if done else "failed", "detail": line})  # fmt: skip
        audit(config, env, event("action " + ("ok" if done else "failed"), action=action.name, detail=line))
        ok = ok and done
    if results:
        facts["actions"] = results
    if plan.mode == "code" and landed.live_from is not None:
        facts["ledger_marker_carried"] = carry_marker(
            config, env, plan.target, adapter, before=landed.live_from, after=landed.live
        )
    facts.update(_report(config, plan, adapter, prepared, landed, out))
    return ok, facts


def carry_marker(
    config: ProjectConfig, env: str, target: str, adapter: Any, *, before: str | None, after: str | None
) -> bool:
    """After a code rollback, move the target's ledger marker from ``before`` (the version whose
    bindings the new one inherited) to ``after`` when the ledger recorded ``before`` and both carry
    the same secret bindings: the rollback changed code only, so the secrets deploycheck last wrote
    are still there. Any doubt leaves the marker, so drift reports. Returns whether it moved."""
    if before is None or after is None or before == after or not get_spec(adapter.platform).config_marker:
        return False
    from deploycheck.state import move_target_marker, open_state

    bindings = getattr(adapter, "secret_bindings", None)

    def code_only(recorded: str | None) -> bool:
        return recorded == before and bindings is not None and bindings(before) == bindings(after)

    try:
        store = open_state(config, config.sot_path(env, os.environ.get("DEPLOYCHECK_SOT")))
        with store.lock(purpose=f"rollback {env}"):
            return move_target_marker(store.ledger(), env, target, adapter, after, may_move=code_only)
    except DeploycheckError:
        return False


def _report(  # noqa: PLR0917 (private: the arguments aftercare() already named)
    config: ProjectConfig, plan: Plan, adapter: Any, prepared: Prepared, landed: Landed, out: TextIO
) -> dict[str, Any]:
    env, code_after, live = landed.env, landed.code_after, landed.live
    facts: dict[str, Any] = {}
    current = plan.current_revision
    before_code = current.code if current is not None else plan.current
    print("   Report:", file=out)
    print(f"     code: {(before_code or '-')[:12]} -> {(code_after or plan.to or '-')[:12]}", file=out)
    facts["code"] = {"from": before_code, "to": code_after}
    after = read_config(adapter) if prepared.before is not None else None
    changes = config_changes(prepared.before, after, mode=plan.mode, config_from=landed.live_from)
    reverted = [c for c in changes if c.status not in ("kept", "restored")]
    if prepared.before is None or after is None:
        print(f"     configuration: {_unversioned(plan)}", file=out)
    else:
        moved = [c for c in changes if c.status != "kept"]
        how = "kept" if not moved else f"{len(moved)} of {len(changes)} keys changed"
        print(f"     configuration: {how}, key by key:", file=out)
        for line in [str(c) for c in changes] or ["(no variables or secrets)"]:
            print(f"       {line}", file=out)
        facts["configuration"] = {c.name: c.status for c in changes}
    if prepared.state is not None:
        print(f"     state: {prepared.state.line}", file=out)
    data = dict(get_spec(plan.platform).rollback_scope).get("data")
    if data:
        print(f"     data: {data}", file=out)
    drift = drift_after(config, env, plan.target, landed.environ)
    history = get_spec(plan.platform).code_history
    command = drift.command
    if (
        plan.mode != "code"
        and history is not None
        and history.versions_config
        and live
        and (reverted or command)
    ):
        # a sync cannot write while an older version serves: a code rollback to the running code
        # brings today's configuration back under it (and carries the ledger's marker)
        command = restore_command(plan.platform, env, live)
    if command is not None:
        facts["fix_command"] = command
    _print_drift(drift, command, reverted, out)
    facts["drift"] = drift.facts.get("drift", []) if drift.checked else "not checked"
    return facts


def _print_drift(drift: DriftAfter, command: str | None, reverted: Sequence[KeyChange], out: TextIO) -> None:
    if command is not None:
        print("     against the source of truth: DRIFT left by the rollback:", file=out)
        named = {line.split(":", 1)[0] for line in drift.lines}
        for line in (*drift.lines, *(f"{c.name}: {c.status}" for c in reverted if c.name not in named)):
            print(f"       {line}", file=out)
        print(f"     fix it with: {command}", file=out)
        if command != drift.command:
            print("       (or change the source of truth to the values the rollback restored)", file=out)
    elif drift.checked:
        print("     against the source of truth: in sync", file=out)
        for line in drift.lines:
            print(f"       {line}", file=out)
    else:
        for line in drift.lines:
            print(f"     {line}", file=out)


def _unversioned(plan: Plan) -> str:
    return dict(get_spec(plan.platform).rollback_scope).get("plain vars", "not read")
