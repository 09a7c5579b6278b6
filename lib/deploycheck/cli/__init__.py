"""The ``deploycheck`` command line: one subcommand per operation, imported lazily.

:data:`COMMANDS` names each subcommand's module and the lines its help shows; the
parser of every one is made here from that table. Each module has two functions:
``add_arguments(parser)`` adds the command's own arguments (the shared ones come from
:mod:`deploycheck.cli.options`), and ``run(args) -> int`` does the work. Modules import
their heavy dependencies inside ``run`` so that ``deploycheck --help`` starts fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from deploycheck.cli.json_output import add_format_options, run_as_json

__all__ = ["COMMANDS", "Command", "main"]


@dataclass(frozen=True)
class Command:
    """A subcommand: the module that adds its arguments and runs it, and what its help says.

    ``description`` heads the command's ``--help``; with ``docstring`` the module's
    docstring does instead, its lines kept. A ``deferred`` command's arguments import
    the platform registry (every adapter, requests included); a command line that cannot
    reach it builds its summary only (see :func:`build_parser`).
    """

    module: str
    help: str
    description: str | None = None
    docstring: bool = False
    deferred: bool = False


#: subcommand name -> its module and help; modules are imported only to build their parser
COMMANDS: dict[str, Command] = {
    "sandbox": Command(
        "deploycheck.cli.sandbox",
        help="Run local emulators of every platform (Cloudflare, GitHub, Convex, the site, the Worker)",
        description="Serve the sandbox until interrupted; the first stdout line is JSON with every URL, "
        "credential and the environment pointing at it.",
    ),
    "sync-env": Command(
        "deploycheck.cli.sync_env",
        help="Sync the source-of-truth table to .env.local files or to every platform",
        description="Write DEV values to local files (--mode=local) or push one column of the "
        "source-of-truth table to an environment's platforms (--mode=deploy-dev|deploy-prod).",
    ),
    "drift": Command(
        "deploycheck.cli.drift",
        help="Compare the source of truth with what every platform holds",
        description="Compare every key the source of truth assigns to each target of an environment "
        "with what the platform holds now (write-only secrets through the sync ledger). "
        "Exit 0 no drift, 1 drift, 2 bad input, 3 a platform could not be read.",
    ),
    "verify": Command(
        "deploycheck.cli.verify",
        help="run the deployment checks against an environment",
        description="Run the deployment checks (pytest --env=ENV) and print the verdict. "
        "Arguments after ENV go to pytest.",
    ),
    "rollback": Command(
        "deploycheck.cli.rollback",
        help="Roll back a platform, or see what the matrix advises",
        docstring=True,
        deferred=True,
    ),
    "deploy": Command(
        "deploycheck.cli.deploy",
        help="Deploy every platform of an environment: drift gate, each platform's own command, checks",
        docstring=True,
    ),
    "config": Command(
        "deploycheck.cli.config", help="validate deploycheck.yaml or show the resolved settings"
    ),
    "ci": Command(
        "deploycheck.cli.ci",
        help="The GitHub Action's steps: run a command with summary and outputs; keep the drift issue",
        description="Run one deploycheck command the way the reusable action does, or sync the drift issue.",
    ),
    "report": Command("deploycheck.cli.report", help="Work with report folders (merge the shards of a run)"),
    "state": Command(
        "deploycheck.cli.state",
        help="Show the state backend, break a stale lock, or migrate the local state to s3",
        description="The ledger, audit log and lock: local files or an S3-compatible bucket (state: in "
        "deploycheck.yaml).",
    ),
    "sot": Command(
        "deploycheck.cli.sot",
        help="Encrypt, decrypt, edit or set values of the source-of-truth table (age, cell by cell)",
        description="Seal the table's value cells with age so it can be committed; TARGET, GROUP and "
        "KEY stay readable.",
    ),
    "completion": Command(
        "deploycheck.cli.completion",
        help="Print a shell completion script (bash, zsh or tcsh)",
        description="Print the completion script of a shell, generated from the parsers by shtab. "
        "bash: deploycheck completion bash > ~/.local/share/bash-completion/completions/deploycheck",
    ),
}


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """Build the top-level parser with every available subcommand.

    With ``argv``, a ``deferred`` command (see :class:`Command`) whose name does not occur
    in ``argv`` gets its summary line only: that command line cannot reach it, and
    ``deploycheck --help`` does not pay for importing every platform.
    """
    from deploycheck.cli.reference import plain

    words = set(argv) if argv is not None else None
    parser = argparse.ArgumentParser(
        prog="deploycheck",
        description="Deployment verification, configuration sync, drift detection and rollback "
        "for an app deployed on several platforms.",
    )
    parser.add_argument(
        "--version", action=_VersionAction, nargs=0, help="show program's version number and exit"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, command in COMMANDS.items():
        try:
            module = importlib.import_module(command.module)
        except ModuleNotFoundError as exc:
            if exc.name != command.module:
                raise
            continue
        description, layout = command.description, argparse.HelpFormatter
        if command.docstring:
            description, layout = plain(module.__doc__), argparse.RawDescriptionHelpFormatter
        child = sub.add_parser(name, help=command.help, description=description, formatter_class=layout)
        child.set_defaults(func=module.run)
        if not (command.deferred and words is not None and name not in words):
            module.add_arguments(child)
    add_format_options(parser)
    return parser


class _VersionAction(argparse.Action):
    """``--version``: the installed version, looked up only when asked (importlib.metadata is slow)."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        sys.stdout.write(f"{parser.prog} {_version()}\n")
        parser.exit()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("deploycheck")
    except PackageNotFoundError:
        return "unknown (not installed)"


def main(argv: Sequence[str] | None = None) -> int:  # noqa: PLR0911 (one return per way a run ends)
    """Run the command line; return the exit code (0 ok, 1 failure, 2 bad input, 3 platform unreadable)."""
    from deploycheck.output import install_redacting_streams, report_error

    install_redacting_streams()
    parser = build_parser(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad arguments, 0 on --help
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from deploycheck.progress import ProgressMonitor

    if args.command == "verify" and hasattr(args, "pytest_args"):  # not `ci run verify`
        from deploycheck.cli.verify import own_options

        own_options(args)  # verify's options may follow ENV, among pytest's

    monitor = ProgressMonitor.to_fd(sys.stderr.fileno()).start() if _has_fd(sys.stderr) else None
    try:
        native = args.command in NATIVE_JSON or getattr(args, "native_json", False)
        if getattr(args, "format", None) == "json" and not native:
            return run_as_json(sys.argv[1:] if argv is None else argv, lambda: _run(args))
        return int(args.func(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (e.g. `deploycheck drift | head`): stop quietly, as Unix tools do
        _silence_stdout()
        return 1
    except Exception as exc:
        return report_error(exc)
    finally:
        if monitor is not None:
            monitor.stop()


#: commands whose --format json writes their own document (with format_version)
NATIVE_JSON = ("drift", "sync-env")


def _run(args: argparse.Namespace) -> int:
    from deploycheck.output import report_error

    try:
        return int(args.func(args))
    except Exception as exc:
        return report_error(exc)


def _has_fd(stream: object) -> bool:
    try:
        stream.fileno()  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False
    return True


def _silence_stdout() -> None:
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # pragma: no cover - stdout without a file descriptor
        pass
    finally:
        os.close(devnull)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
