"""``deploycheck ci``: the steps of the reusable GitHub Action (``action.yml``), runnable anywhere.

- ``deploycheck ci run COMMAND --env ENV``: run ``verify``, ``drift``, ``deploy`` or
  ``sync-env``, write its reports to ``--report-dir`` (default ``reports``), append the
  step summary to ``$GITHUB_STEP_SUMMARY`` and the outputs (``verdict``, ``failed``,
  ``warned``, ``drift_findings``, ``exit_code``, after a deploy the deployed ids) to
  ``$GITHUB_OUTPUT``. Exit code: the command's.
- ``deploycheck ci drift-issue --from reports/drift.json``: open, update or close the
  environment's drift issue with ``GITHUB_TOKEN`` on ``GITHUB_REPOSITORY``. Exit 0 done,
  2 bad input, 3 drift could not be told clean (a platform was not read) or GitHub could
  not be reached, 1 GitHub refused a request.

Examples::

    deploycheck ci run drift --env production --platforms cloudflare-worker,convex
    deploycheck ci run verify --env production -- --expect-commit "$GITHUB_SHA"
    deploycheck ci drift-issue --from reports/drift.json
"""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

from deploycheck.cli.options import add_config, add_env

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``run`` and ``drift-issue`` commands."""
    sub = parser.add_subparsers(dest="ci_command", metavar="COMMAND", required=True)
    run_parser = sub.add_parser(
        "run", help="Run verify, drift, deploy or sync-env; write summary and outputs"
    )
    run_parser.add_argument("command", choices=("verify", "drift", "deploy", "sync-env"), help="What to run")
    add_env(run_parser, "Environment (as in deploycheck.yaml)", required=True)
    add_config(run_parser)
    run_parser.add_argument(
        "--platforms", default="", metavar="LIST",
        help="Only these platforms (comma, space or newline separated; default: all)",
    )  # fmt: skip
    run_parser.add_argument("--report-dir", type=Path, default=Path("reports"), metavar="DIR",
                            help="Where the reports go (default: reports)")  # fmt: skip
    run_parser.add_argument("--no-verify", dest="verify", action="store_false",
                            help="deploy: skip the checks after deploying")  # fmt: skip
    run_parser.add_argument("--args", dest="args_text", default="", metavar="TEXT",
                            help="More arguments as one shell-quoted string (input args)")  # fmt: skip
    run_parser.add_argument("extra", nargs="*", metavar="ARG",
                            help="after --: arguments for pytest (verify) or sync-env")  # fmt: skip
    run_parser.set_defaults(func=run)
    issue = sub.add_parser("drift-issue", help="Open, update or close the drift issue from a drift.json")
    issue.add_argument("--from", dest="source", type=Path, required=True, metavar="DRIFT_JSON",
                       help="The drift report (drift --format json, or ci run drift)")  # fmt: skip
    issue.add_argument("--label", default="deploycheck-drift", help="The label marking drift issues")
    issue.add_argument("--repository", default=None, metavar="OWNER/REPO",
                       help="Repository of the issue (default: GITHUB_REPOSITORY)")  # fmt: skip
    issue.set_defaults(func=run)


def _platforms(text: str) -> tuple[str, ...]:
    from deploycheck.verify import check_platforms

    names = tuple(dict.fromkeys(n for n in re.split(r"[\s,]+", text) if n))
    return check_platforms(names, "--platforms")


def _run_url(environ: dict[str, str]) -> str | None:
    server, repo, run_id = (
        environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    return f"{server}/{repo}/actions/runs/{run_id}" if server and repo and run_id else None


def run(args: argparse.Namespace) -> int:
    """Run the ``ci`` command chosen; return its exit code."""
    import os

    environ = dict(os.environ)
    if args.ci_command == "drift-issue":
        return _drift_issue(args, environ)
    from deploycheck.ci import append_summary, run_ci_command, write_outputs
    from deploycheck.cli import main
    from deploycheck.config import load_config

    config = load_config(args.config)
    result = run_ci_command(
        args.command,
        config=config,
        env=args.env,
        platforms=_platforms(args.platforms),
        report_dir=args.report_dir if args.report_dir.is_absolute() else Path.cwd() / args.report_dir,
        extra=[*shlex.split(args.args_text), *args.extra],
        verify=args.verify,
        environ=environ,
        run_cli=main,
    )
    append_summary(result.summary, environ)
    write_outputs(result.outputs(), environ)
    print(f"deploycheck ci: {args.command} {args.env}: {result.verdict} (exit {result.exit_code})")
    return result.exit_code


def _drift_issue(args: argparse.Namespace, environ: dict[str, str]) -> int:
    from deploycheck.ci import append_summary, load_drift, sync_drift_issue, write_outputs
    from deploycheck.ci.issue import DriftIssues

    drift = load_drift(args.source)
    api = DriftIssues.from_environ(environ, args.repository)
    result = sync_drift_issue(drift, api, label=args.label, run_url=_run_url(environ))
    print(f"deploycheck ci drift-issue: {result.message}")
    link = f" [#{result.number}]({result.url})" if result.number and result.url else ""
    append_summary(f"Drift issue: {result.action}{link}. {result.message}", environ)
    write_outputs({"issue_action": result.action, "issue_number": str(result.number or "")}, environ)
    return result.exit_code
