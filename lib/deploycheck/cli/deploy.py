"""``deploycheck deploy``: deploy every platform of an environment, drift-gated before, verified after.

Examples::

    deploycheck deploy --env production --dry-run          # gate result, order, commands; runs nothing
    deploycheck deploy --env production --yes              # every platform in deploy.order
    deploycheck deploy --env production --yes --platform convex --platform worker
    deploycheck deploy --env production --yes --allow-drift   # deploy despite the drift gate
    deploycheck deploy --env production --yes --gradual 10,50,100   # the Worker step by step, gated
    deploycheck deploy --env production --yes --gradual --resume revert  # undo an interrupted rollout

Exit codes: 0 every platform deployed and verified, 1 a deploy or the verification
failed (or the drift gate stopped the deploy; its report is printed), 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from deploycheck.cli.options import add_env, add_list, add_project_options

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The environment and platforms, the gate and failure policy, gradual rollout, table and reports."""
    add_env(parser, "Environment to deploy (default: default_env)")
    add_list(
        parser,
        "--platform",
        dest="platforms",
        help="Only this platform: convex, cloudflare-worker (worker), cloudflare-pages (pages); repeatable",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="Print the gate result and the plan; run nothing"
    )
    parser.add_argument(
        "--yes", "-y", action="store_true", help="Deploy without asking (needed without a terminal)"
    )
    parser.add_argument(
        "--allow-drift", action="store_true", help="Deploy even when the drift gate finds drift"
    )
    failure = parser.add_mutually_exclusive_group()
    failure.add_argument(
        "--stop-on-failure",
        dest="stop_on_failure",
        action="store_true",
        default=None,
        help="Skip the remaining platforms after a failure (default: deploy.stop_on_failure)",
    )
    failure.add_argument(
        "--continue-on-failure",
        dest="stop_on_failure",
        action="store_false",
        help="Deploy the remaining platforms after a failure",
    )
    parser.add_argument(
        "--no-verify", dest="verify", action="store_false", help="Skip the checks after deploying"
    )
    parser.add_argument(
        "--gradual",
        nargs="?",
        const="",
        default=None,
        metavar="STEPS",
        help="Deploy Worker targets gradually: percentages on the new version, e.g. 10,50,100 "
        "(default: deploy.gradual's steps, else 10,50,100)",
    )
    parser.add_argument(
        "--resume",
        choices=("continue", "revert"),
        default=None,
        help="A split already in progress: continue its rollout, or revert it to the old version",
    )
    add_project_options(parser)
    parser.add_argument(
        "--report-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="Where the verification reports go (default: reports/deploy-ENV-TIME)",
    )


def _ask(question: str) -> bool:
    print(question, end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def run(args: argparse.Namespace) -> int:
    """Plan, gate, deploy, verify and summarize; return the exit code."""
    import os

    from deploycheck.config import load_config
    from deploycheck.deploy import DeployOptions
    from deploycheck.deploy import run as deploy
    from deploycheck.deploy.gradual import parse_steps

    steps = parse_steps(args.gradual) if args.gradual else None
    config = load_config(args.config)
    env = config.environment(args.env or config.default_env)
    sot = args.sot or (Path(os.environ["DEPLOYCHECK_SOT"]) if os.environ.get("DEPLOYCHECK_SOT") else None)
    options = DeployOptions(
        env=env.name,
        platforms=tuple(args.platforms),
        allow_drift=args.allow_drift,
        dry_run=args.dry_run,
        yes=args.yes,
        interactive=sys.stdin.isatty() and sys.stdout.isatty(),
        verify=args.verify,
        stop_on_failure=args.stop_on_failure,
        sot=sot,
        state_dir=args.state_dir,
        report_dir=args.report_dir,
        environ=dict(os.environ),
        confirm=_ask,
        gradual=args.gradual is not None,
        gradual_steps=steps,
        resume=args.resume,
    )
    report = deploy(config, env, options, sys.stdout)
    return report.exit_code
