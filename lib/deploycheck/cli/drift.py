"""``deploycheck drift``: compare the source of truth with every platform of an environment.

Exit codes: 0 no drift, 1 drift found, 2 bad input or configuration, 3 a platform could
not be read (the others are still reported). With ``$GITHUB_STEP_SUMMARY`` set, the
Markdown report is appended to it whatever ``--format`` prints.

Examples::

    deploycheck drift --env production
    deploycheck drift --env production --format json --target CONVEX --target GITHUB
    deploycheck drift --env production --baseline ops/drift-baseline.yaml
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from deploycheck.cli.options import add_env, add_format, add_project_options, add_target_filter

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The environment, its table and state, the targets, the format and the baseline."""
    add_env(parser, "Environment to check (default: default_env)")
    add_project_options(parser)
    add_target_filter(parser)
    add_format(parser, ("text", "markdown", "json"))
    parser.add_argument(
        "--baseline",
        dest="baseline",
        type=Path,
        default=None,
        help="Acknowledged drift (default: .deploycheck-baseline.yaml beside deploycheck.yaml if present)",
    )
    parser.add_argument(
        "--remote",
        action="store_true",
        help="In a local environment, compare its platforms (deploy-dev) instead of the .env.local files",
    )


def _step_summary(markdown: str) -> None:
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(markdown + "\n")
    except OSError as exc:
        print(
            f"deploycheck drift: cannot append to GITHUB_STEP_SUMMARY {path}: {exc.strerror}", file=sys.stderr
        )


def run(args: argparse.Namespace) -> int:
    """Run drift detection and print the report; return its exit code."""
    from deploycheck.config import load_config
    from deploycheck.drift import render, render_markdown
    from deploycheck.drift import run as detect

    config = load_config(args.config)
    report = detect(
        config,
        config.environment(args.env or config.default_env),
        sot_path=args.sot,
        state_dir=args.state_dir,
        targets=tuple(args.targets) if args.targets else None,
        baseline_path=args.baseline,
        remote=args.remote,
    )
    sys.stdout.write(render(report, args.format))
    sys.stdout.flush()
    _step_summary(render_markdown(report))
    for error in report.errors:
        print(
            f"deploycheck drift: {error.target} ({error.platform}) could not be read: {error.message}",
            file=sys.stderr,
        )
    return report.exit_code
