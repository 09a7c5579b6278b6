"""The ``deploycheck`` command line: one subcommand per operation, imported lazily.

Each subcommand lives in its own module of this package with two functions:
``register(subparsers)`` adds its parser (and sets ``func``), and ``run(args) -> int``
does the work. Modules import their heavy dependencies inside ``run`` so that
``deploycheck --help`` starts fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["COMMANDS", "main"]

#: subcommand name -> module; modules are imported only to build their parser
COMMANDS: dict[str, str] = {
    "sandbox": "deploycheck.cli.sandbox",
    "sync-env": "deploycheck.cli.sync_env",
    "drift": "deploycheck.cli.drift",
    "verify": "deploycheck.cli.verify",
    "rollback": "deploycheck.cli.rollback",
    "deploy": "deploycheck.cli.deploy",
    "config": "deploycheck.cli.config",
    "ci": "deploycheck.cli.ci",
    "report": "deploycheck.cli.report",
    "state": "deploycheck.cli.state",
    "sot": "deploycheck.cli.sot",
}


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="deploycheck",
        description="Deployment verification, configuration sync, drift detection and rollback "
        "for an app deployed on several platforms.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMANDS.values():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 ok, 1 failure, 2 bad input, 3 platform unreadable)."""
    from deploycheck.output import install_redacting_streams, report_error

    install_redacting_streams()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad arguments, 0 on --help
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
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
