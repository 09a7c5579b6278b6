"""``deploycheck rollback``: advise from the decision matrix, or roll back a platform.

deploycheck rollback advise --severity high --impact majority [--env production]
deploycheck rollback list cloudflare-worker --env production [--format json]
deploycheck rollback cloudflare-pages --env production --reason "bad build" [--to ID|COMMIT] [--dry-run]
deploycheck rollback cloudflare-worker --env production --reason "..." [--to VERSION|DEPLOYMENT]
deploycheck rollback cloudflare-worker --env production --reason "..." --with-config [--force]
deploycheck rollback convex --env production --reason "..." [--to REF] [--from REF]
deploycheck rollback all --env production --reason "..." [--dry-run]
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from deploycheck.cli.options import add_config, add_env, add_format, add_list

__all__ = ["add_arguments", "run"]


def _common(parser: argparse.ArgumentParser) -> None:
    add_config(parser, dest="config_path")
    parser.add_argument(
        "--target", metavar="NAME", help="The target to roll back when a platform has several"
    )


def _schema_eval_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--schema-eval",
        dest="schema_eval",
        choices=("auto", "node", "static"),
        default="auto",
        help="How the schema guard reads schema.ts: evaluated in Node when available (auto), "
        "only in Node (node), or by the static parser (static)",
    )


def _source_options(parser: argparse.ArgumentParser) -> None:
    """Where the live Convex code is: its git ref and folder."""
    parser.add_argument(
        "--from",
        dest="from_ref",
        default="HEAD",
        metavar="REF",
        help="Git ref of the live Convex code (default: HEAD)",
    )
    parser.add_argument(
        "--convex-dir", metavar="DIR", help="The Convex folder (default: rollback.convex_dir)"
    )


def _code_options(parser: argparse.ArgumentParser) -> None:
    """The options of a rollback that redeploys code from git: live ref, folder, schema reading."""
    _source_options(parser)
    _schema_eval_option(parser)


def _rollback_options(parser: argparse.ArgumentParser, *, to: bool, convex: bool) -> None:
    _common(parser)
    add_env(parser, "Environment to roll back", required=True)
    if to:
        parser.add_argument(
            "--to", metavar="ID", help="Version, deployment, commit or git ref to roll back to"
        )
    parser.add_argument(
        "--with-config",
        dest="with_config",
        action="store_true",
        help="Roll configuration back with the code (a Worker version's old vars and secrets)",
    )
    add_list(
        parser,
        "--action",
        dest="actions",
        help="Run this post-rollback action of rollback.steps (repeatable)",
    )
    add_list(
        parser,
        "--skip-action",
        dest="skip_actions",
        help="Skip this post-rollback action of rollback.steps (repeatable)",
    )
    if convex:
        _code_options(parser)
    parser.add_argument("--dry-run", action="store_true", help="Show the whole plan; change nothing")
    parser.add_argument("--yes", "-y", action="store_true", help="Do not ask for confirmation")
    parser.add_argument(
        "--force",
        action="store_true",
        help="Override the schema guard, the state check's refusal or the Worker's changed-secrets "
        "refusal (needs --reason)",
    )
    parser.add_argument("--reason", help="Why: required in production, recorded in the audit log")
    parser.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        help="Do not run the platform's checks after the rollback",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The commands of ``rollback``: advise, list, one per platform, and all.

    The per-platform commands import every platform adapter (``rollback`` is a deferred
    command of the table in :mod:`deploycheck.cli`).
    """
    commands = parser.add_subparsers(dest="rollback_command", metavar="COMMAND", required=True)
    advise = commands.add_parser("advise", help="What the decision matrix says, changing nothing")
    _common(advise)
    advise.add_argument("--severity", required=True, help="critical, high, medium or low")
    advise.add_argument(
        "--impact", required=True, help="all (all users), majority (>50%% of users) or minority (<50%%)"
    )
    add_env(advise, "Also show what a rollback would do in this environment now")
    _code_options(advise)
    from deploycheck.platforms import get_spec, rollbackable

    listing = commands.add_parser(
        "list", help="The versions, deployments or commits a rollback can go back to"
    )
    _common(listing)
    listing.add_argument("list_platform", metavar="PLATFORM", help="The platform whose history to show")
    add_env(listing, "Environment whose history to show", required=True)
    add_format(listing)
    listing.add_argument("--limit", type=int, default=20, help="How many revisions to show (default 20)")
    _source_options(listing)
    listing.set_defaults(native_json=True)
    for platform in rollbackable():
        spec = get_spec(platform)
        sub = commands.add_parser(platform, aliases=list(spec.aliases), help=f"Roll back {spec.label}")
        _rollback_options(sub, to=True, convex=spec.deploy_model == "push")
        sub.set_defaults(rollback_platform=platform)
    everything = commands.add_parser(
        "all", help="Roll back every platform in rollback.order, verifying between"
    )
    _rollback_options(everything, to=False, convex=True)
    everything.set_defaults(rollback_platform="all")


def _register_table_secrets(config: Any, env: str | None) -> None:
    """Mask the table's secrets too: a vendor error may echo one. The table is optional here."""
    import contextlib
    import os

    from deploycheck.errors import InputError
    from deploycheck.sot import load_sot

    # a rollback does not need the table, so an unreadable one only means fewer masks
    with contextlib.suppress(InputError, OSError):
        sot_path = config.sot_path(env, os.environ.get("DEPLOYCHECK_SOT"))
        load_sot(sot_path, config, columns=()).register_with_redactor()


def run(args: argparse.Namespace) -> int:
    """Run the rollback command ``args`` describes."""
    import os

    from deploycheck.config import load_config
    from deploycheck.rollback import RollbackOptions, rollback_order
    from deploycheck.rollback import run as roll_back

    config = load_config(args.config_path)
    _register_table_secrets(config, args.env)
    common = {"target": args.target, "environ": dict(os.environ)}
    if args.rollback_command == "advise":
        from deploycheck.rollback.advise import advise

        options = None
        if args.env:
            config.environment(args.env)
            options = RollbackOptions(
                env=args.env, from_ref=args.from_ref, convex_dir=args.convex_dir,
                schema_eval=args.schema_eval, **common
            )
        return advise(config, args.severity, args.impact, options, sys.stdout)
    env = config.environment(args.env)
    if args.rollback_command == "list":
        from deploycheck.rollback.listing import list_revisions

        options = RollbackOptions(
            env=args.env, from_ref=args.from_ref, convex_dir=args.convex_dir, **common
        )
        return list_revisions(
            config, args.list_platform, options, sys.stdout, fmt=args.format, limit=args.limit
        )
    options = RollbackOptions(
        env=env.name,
        to=getattr(args, "to", None),
        from_ref=getattr(args, "from_ref", "HEAD"),
        convex_dir=getattr(args, "convex_dir", None),
        schema_eval=getattr(args, "schema_eval", "auto"),
        dry_run=args.dry_run,
        yes=args.yes,
        force=args.force,
        reason=args.reason,
        verify=args.verify,
        interactive=sys.stdin.isatty() and sys.stdout.isatty(),
        with_config=args.with_config,
        actions=tuple(args.actions),
        skip_actions=tuple(args.skip_actions),
        **common,
    )
    platforms = rollback_order(config) if args.rollback_platform == "all" else (args.rollback_platform,)
    from deploycheck.errors import PlatformError, RollbackError

    try:
        return roll_back(config, env, platforms, options, sys.stdout)
    except PlatformError as exc:
        # a failed rollback exits 1 like a refused one (the module's exit codes), not 3
        raise RollbackError(f"rollback in {args.env} stopped: {exc}") from exc
