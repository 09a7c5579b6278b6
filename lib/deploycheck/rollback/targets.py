"""Choosing what a rollback goes back to, from the platform's own history.

A rollback is a *code* rollback by default: the previous release's code, served with
the configuration in force now (:func:`plan_code`). The platform's spec supplies its
history (:class:`~deploycheck.platforms.history.CodeHistory`): the revisions with what
each changed, the default target (:func:`~deploycheck.platforms.history.code_target`:
the release before the running code first appeared, so config-only revisions such as a
secret rotation never count), and the rollback itself. ``--to`` names a revision by id,
short id, number, commit prefix, or a deployment that sent it all traffic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from deploycheck.errors import Problem, UsageError
from deploycheck.platforms import get_spec
from deploycheck.platforms.history import CodeHistory, CodeRollbackResult, Revision, code_target
from deploycheck.rollback.steps import Plan

__all__ = ["describe", "execute_code", "find_revision", "mark_with_config", "plan_code", "scope"]

#: how many revisions a plan and ``rollback list`` read
HISTORY_LIMIT = 20
_MIN_PREFIX = 7


def describe(revision: Revision) -> str:
    """One line naming a revision: id, number, code, when, what it changed, who, from where."""
    parts = [revision.id + (f" (#{revision.number})" if revision.number is not None else "")]
    parts.append(f"code {revision.short_code}")
    if revision.created_on:
        parts.append(f"created {revision.created_on}")
    if revision.changes:
        parts.append("changed " + "+".join(revision.changes))
    if revision.triggered_by:
        parts.append(f"by {revision.triggered_by}")
    if revision.message:
        parts.append(repr(revision.message[:60]))
    return ", ".join(parts)


def find_revision(revisions: Sequence[Revision], to: str, resource: str) -> Revision:
    """The revision ``to`` names (UsageError listing recent ones when none does)."""
    for revision in revisions:
        names = {
            revision.id,
            str(revision.extra.get("short_id") or ""),
            *revision.extra.get("deployments", ()),
        }
        if revision.number is not None:
            names.add(str(revision.number))
        if to in names - {""}:
            return revision
        if len(to) >= _MIN_PREFIX and revision.commit and revision.commit.startswith(to):
            return revision
    recent = ", ".join(r.id for r in revisions[:5]) or "(none)"
    msg = (
        f"no version, deployment or commit {to!r} among the {len(revisions)} newest of {resource}; "
        f"recent: {recent}."
    )
    raise UsageError([Problem("--to", msg, hint="`deploycheck rollback list PLATFORM` shows them all.")])


def plan_code(history: CodeHistory, adapter: Any, target: str, to: str | None, *, with_config: bool) -> Plan:
    """Plan a code rollback of ``adapter`` (reads only); ``to`` names the target revision."""
    revisions = history.revisions(adapter, limit=HISTORY_LIMIT)
    current = next((r for r in revisions if r.active), None)
    base = Plan(
        adapter.platform,
        target,
        adapter.resource,
        current.id if current else None,
        None,
        "",
        mode="code",
        current_revision=current,
    )
    if to is not None:
        chosen: Revision | None = find_revision(revisions, to, adapter.resource)
    else:
        chosen = code_target(revisions)
        if chosen is None:
            return replace(
                base,
                problem="no earlier revision runs other code than the one serving now; "
                "`deploycheck rollback list` shows the history, --to names a target",
            )
    assert chosen is not None
    base = replace(base, to=chosen.id, revision=chosen)
    if not chosen.deployable:
        return replace(base, problem=f"{chosen.id} cannot be deployed (status {chosen.extra.get('status')})")
    latest_serves = bool(revisions) and revisions[0].active
    if current is not None and chosen.code == current.code and latest_serves:
        return replace(
            base,
            problem=f"{chosen.id} runs the code that serves now ({chosen.short_code}); "
            "to roll configuration back, pass --with-config",
        )
    if blocker := history.blocker(revisions):
        return replace(base, problem=blocker)
    details = [
        f"current: {describe(current)}" if current else "current: (none active)",
        f"target:  {describe(chosen)}",
        f"mode:    code rollback: {chosen.short_code} is served with {history.keeps}",
    ]
    if not latest_serves and revisions:
        latest = revisions[0]
        details.append(
            f"         today's configuration is that of the newest revision {latest.id}, which serves no "
            "traffic now (after a rollback with --with-config, this restores it)"
        )
    if with_config:
        details.append(
            "         (--with-config changes nothing more here: this platform's configuration is not "
            "part of its deployments)"
        )
    return replace(base, details=tuple(details), action=history.action(adapter, chosen))


def mark_with_config(plan: Plan, revisions: Sequence[Revision]) -> Plan:
    """``plan`` (a configuration rollback) marked as such, with the revisions it moves between."""
    current = next((r for r in revisions if r.active), None)
    chosen = next((r for r in revisions if r.id == plan.to), None)
    line = (
        "mode:    code AND configuration (--with-config): the target version's own vars and secrets "
        "come back with its code"
    )
    return replace(
        plan, mode="config", revision=chosen, current_revision=current, details=(*plan.details, line)
    )


def scope(plan: Plan) -> tuple[tuple[str, str], ...]:
    """What ``plan`` reverts, as the plan prints it: a code rollback keeps vars and secrets."""
    lines = get_spec(plan.platform).rollback_scope
    if plan.mode != "code":
        return lines
    kept = {
        "code": "REVERTED: the target's code serves all traffic again",
        "plain vars": "KEPT: the values in force now stay (the code rollback does not touch them)",
        "secrets": "KEPT: the secrets in force now stay; none goes back to an old value",
    }
    return tuple(
        (what, kept[what] if what in kept and how.startswith("REVERTED") else how) for what, how in lines
    )


def execute_code(history: CodeHistory, plan: Plan, adapter: Any, *, message: str) -> CodeRollbackResult:
    """Carry out a code rollback ``plan``."""
    assert plan.revision is not None
    return history.roll_back_code(adapter, plan.revision, message=message)
