"""``deploycheck sync-env``: sync the source-of-truth table to local files or platforms.

Examples::

    deploycheck sync-env --mode=local                    # .env.local files, DEV values
    deploycheck sync-env --mode=deploy-dev --dry-run     # plan only, writes nothing
    deploycheck sync-env --mode=deploy-prod --yes        # PROD values to production
    deploycheck sync-env --mode=deploy-prod --env sandbox --yes --target CONVEX --only APP_ENV
    deploycheck sync-env --mode=deploy-prod --env sandbox --yes --target GITHUB --remove OLD_FLAG

Exit codes: 0 done (or nothing to do), 1 some change not applied or a target
unreadable (the output names which), 2 bad input (table, config, arguments; nothing
written), 3 a platform could not be read at all.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from deploycheck.cli.options import (
    add_env,
    add_format,
    add_list,
    add_lock_timeout,
    add_project_options,
    add_target_filter,
    lock_timeout,
)
from deploycheck.output import FORMAT_VERSION

if TYPE_CHECKING:
    from deploycheck.sot import Column
    from deploycheck.sync import SyncReport

__all__ = ["add_arguments", "render_plan", "render_result", "run"]

DEFAULT_ENV = {"deploy-dev": "development", "deploy-prod": "production"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """What to write where, which keys and targets, and the table and state to use."""
    parser.add_argument(
        "--mode", choices=("local", "deploy-dev", "deploy-prod"), default="local", help="What to write"
    )
    add_env(parser, "Environment whose platforms to write (default: by mode)")
    parser.add_argument("--dry-run", action="store_true", help="Print the plan and write nothing anywhere")
    parser.add_argument("--yes", "-y", action="store_true", help="Apply deploy-prod without asking")
    add_list(parser, "--only", metavar="KEY", help="Only this key (repeatable)")
    add_target_filter(parser, dest="target")
    parser.add_argument(
        "--prune", action="store_true", help="Delete keys absent from the table that deploycheck created"
    )
    add_list(
        parser,
        "--remove",
        metavar="KEY",
        help="Delete this key, which the table does not assign to the target, whoever created it "
        "(repeatable; narrows the run to these keys and --only)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="--mode=local: overwrite local files deploycheck did not write (a backup is kept)",
    )
    add_format(parser)
    add_project_options(parser)
    add_lock_timeout(
        parser, "How long to wait for another sync to finish (default 5, or DEPLOYCHECK_LOCK_TIMEOUT)"
    )


def _line(item: Any) -> str:
    symbol = {"add": "+", "change": "~", "remove": "-", "unchanged": "=", "extra": "?"}[item.action]
    kind = " (secret)" if item.secret else ""
    text = f"  {symbol} {item.key}{kind}"
    if item.action == "add":
        text += f" = {item.new}"
    elif item.action == "change":
        text += f": {item.old} -> {item.new}"
    elif item.action in ("remove", "extra") and item.old is not None:
        text += f" (now {item.old})"
    if item.reason and item.action != "add":
        text += f"  [{item.reason}]"
    return text


def render_plan(report: SyncReport) -> str:
    """The plan as text: one block per target, secrets by fingerprint only."""
    request = report.request
    column = request.column.upper()
    where = "local files" if request.mode == "local" else f"environment {request.env}"
    lines = [
        f"sync-env {request.mode}: {column} values from {report.sot} to {where}"
        + (" (dry run: nothing is written)" if request.dry_run else "")
    ]
    totals = {"add": 0, "change": 0, "remove": 0, "unchanged": 0, "extra": 0}
    for outcome in report.outcomes:
        if outcome.plan is None:
            lines.append(f"{outcome.target}: cannot be read: {outcome.error}")
            continue
        plan = outcome.plan
        lines.append(f"{plan.target} ({plan.platform} {plan.resource})")
        lines += [_line(i) for i in plan.items] or ["  (no keys)"]
        for action, count in plan.counts().items():
            totals[action] += count
    lines.append(
        f"Plan: {totals['add']} to add, {totals['change']} to change, {totals['remove']} to remove, "
        f"{totals['unchanged']} unchanged, {totals['extra']} not in the table (kept)."
    )
    return "\n".join(lines)


def render_result(report: SyncReport) -> str:
    """What was applied, per target, and what was not."""
    lines = ["Result:"]
    for outcome in report.outcomes:
        if outcome.plan is None:
            lines.append(f"  {outcome.target}: NOT SYNCED: cannot be read: {outcome.error}")
            continue
        if not outcome.attempted:
            lines.append(f"  {outcome.target}: nothing to change")
            continue
        applied = ", ".join(outcome.applied) or "none"
        text = f"  {outcome.target}: applied {len(outcome.applied)} ({applied})"
        not_sent = [k for k in outcome.not_applied if k not in outcome.unconfirmed]
        if not_sent:
            text += f"; NOT applied: {', '.join(not_sent)}"
        if outcome.error:
            text += f"; error: {outcome.error}"
        elif outcome.failed:
            reasons = sorted(set(outcome.failed.values()))
            more = f" (and {len(reasons) - 1} other errors)" if len(reasons) > 1 else ""
            text += f"; error: {reasons[0]}{more}"
        text += f"; read-back: {outcome.readback}"
        for name in outcome.unconfirmed:
            why = outcome.unconfirmed_reasons.get(name, "the platform does not show it")
            text += f"\n    {name}: applied, not confirmed: {why}"
        lines.append(text)
    lines.append("Re-run the same command to finish the rest." if not report.ok else "Done.")
    return "\n".join(lines)


def _emit(report: SyncReport, fmt: str, *, final: bool) -> None:
    if fmt == "json":
        if final:
            print(json.dumps({"format_version": FORMAT_VERSION, **report.to_dict()}, indent=2))
        return
    if not final:
        print(render_plan(report))
    elif report.applied:
        print(render_result(report))


def _confirm(report: SyncReport) -> bool:
    prompt = f"Apply {report.writes} change(s) to {report.request.env}? [y/N] "
    print(prompt, end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


def _raise_unreadable(report: SyncReport) -> None:
    """When no target could be read at all, raise the first platform error (exit code 3)."""
    errors = [o.exception for o in report.outcomes]
    if report.outcomes and all(o.plan is None for o in report.outcomes) and errors[0] is not None:
        raise errors[0]


def run(args: argparse.Namespace) -> int:
    """Load the config and table, then :func:`deploycheck.sync.run`; render; see the module docstring."""
    from deploycheck.config import load_config
    from deploycheck.errors import SyncError, UsageError
    from deploycheck.sot import load_sot
    from deploycheck.state import open_state
    from deploycheck.sync import run as sync

    interactive = sys.stdin.isatty()
    if args.mode == "deploy-prod" and not args.dry_run and not args.yes and not interactive:
        raise UsageError(
            "--mode=deploy-prod changes production and needs confirmation: pass --yes "
            "(no terminal to ask on), or --dry-run to see the plan."
        )
    config = load_config(args.config)
    fallback = "development" if "development" in config.environments else config.default_env
    env = config.environment(args.env or DEFAULT_ENV.get(args.mode) or fallback)
    sot_path = config.sot_path(env.name, str(args.sot) if args.sot else os.environ.get("DEPLOYCHECK_SOT"))
    column: Column = "prod" if args.mode == "deploy-prod" else "dev"
    sot = load_sot(sot_path, config, columns=(column,))
    sot.register_with_redactor()
    for warning in sot.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    # --mode=local writes this machine's files only: its lock and audit stay local
    local = "local" if args.mode == "local" else None
    store = open_state(config, sot_path, args.state_dir, backend=local)
    report = sync(
        config,
        env,
        sot,
        store,
        mode=args.mode,
        dry_run=args.dry_run,
        only=tuple(args.only),
        targets=tuple(args.target),
        prune=args.prune,
        force=args.force,
        remove=tuple(args.remove),
        lock_timeout=lock_timeout(args.lock_timeout),
        show_plan=lambda planned: _emit(planned, args.format, final=False),
        confirm=None if args.yes else _confirm,
        warn=lambda text: print(f"warning: {text}", file=sys.stderr),
    )
    if report.declined:
        print("Not confirmed: nothing was written.", file=sys.stderr)
        return 1
    _emit(report, args.format, final=True)
    if args.dry_run:
        _raise_unreadable(report)
        return 0 if report.ok else 1
    if not report.ok:
        _raise_unreadable(report)
        broken = [o for o in report.outcomes if not o.ok]
        parts = [f"{o.target} ({', '.join(o.not_applied) or o.status})" for o in broken]
        msg = (
            f"sync-env {args.mode} to {env.name} did not complete for {', '.join(parts)}; "
            "re-run to converge."
        )
        raise SyncError(msg)
    return 0
