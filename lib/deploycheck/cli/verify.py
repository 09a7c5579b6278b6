"""``deploycheck verify ENV [PYTEST ARGS...]``: run the deployment checks and give the verdict.

Runs ``pytest --env=ENV`` in this process, then ends with the seed document's summary:
the counts of passed, warned and failed checks and "Verification PASSED", "PASSED with
warnings" or "FAILED". Exit code 0 when nothing failed (warnings included), 1 when a
check failed, 2 for bad input. ``--summary-from reports/results.json`` prints the
Markdown summary of an earlier run instead (for ``$GITHUB_STEP_SUMMARY``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from deploycheck.cli.options import add_config, add_list

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """ENV, the options of verify and the arguments passed on to pytest."""
    parser.add_argument("env", nargs="?", metavar="ENV", help="environment to verify")
    add_list(parser, "--set", dest="overrides", metavar="NAME=VALUE",
             help="override a setting for this run (repeatable)")  # fmt: skip
    add_config(parser)
    parser.add_argument("--summary-from", dest="summary_from", default=None, metavar="RESULTS_JSON",
                        help="print the Markdown summary of a results.json and exit")  # fmt: skip
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, help="arguments passed on to pytest")


def own_options(args: argparse.Namespace) -> None:
    """Take --set, --config and --format written after ENV out of the arguments meant for pytest."""
    rest: list[str] = []
    items = iter(args.pytest_args)
    for item in items:
        name, sep, value = item.partition("=")
        if name in ("--set", "--config", "--format"):
            value = value if sep else next(items, "")
            if name == "--set":
                args.overrides.append(value)
            elif name == "--format":
                args.format = value
            else:
                args.config = value
        else:
            rest.append(item)
    args.pytest_args = rest


def pytest_arguments(args: argparse.Namespace) -> list[str]:
    """The pytest command line ``verify`` runs."""
    # deploycheck is imported before pytest starts here, so pytest cannot rewrite the
    # plugin's asserts (it has none worth rewriting): say nothing about it
    argv = [f"--env={args.env}", "-W", "ignore::pytest.PytestAssertRewriteWarning"]
    if args.config:
        argv.append(f"--deploycheck-config={args.config}")
    argv += [f"--dc-set={item}" for item in args.overrides]
    return argv + list(args.pytest_args)


def run(args: argparse.Namespace) -> int:
    """Run the checks in-process; return 0 (passed, with or without warnings), 1 (failed) or 2 (usage)."""
    from deploycheck.errors import Problem, UsageError
    from deploycheck.report import load_results, render_markdown, summary_lines

    if args.summary_from:
        print(render_markdown(load_results(Path(args.summary_from))), end="")
        return 0
    if not args.env:
        raise UsageError(
            [Problem(source="verify", message="missing ENV.", hint="deploycheck verify production")]
        )
    from deploycheck.config import parse_overrides

    own_options(args)
    parse_overrides(args.overrides, "--set")
    from deploycheck.pytest_plugin.runner import run_checks

    outcome = run_checks(pytest_arguments(args), args.env)
    if outcome.usage_error or outcome.interrupted:
        return 2 if outcome.usage_error else 130
    counts = outcome.counts
    fail_on_warn = "--fail-on-warn" in args.pytest_args
    print()
    for line in summary_lines(counts, args.env, fail_on_warn=fail_on_warn):
        print(line)
    if outcome.nothing_collected:
        print("no checks were collected: nothing was verified")
        return 1
    return 0 if outcome.passed else 1
