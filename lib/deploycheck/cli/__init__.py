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

from deploycheck.cli.json_output import add_format_options, run_as_json

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


#: commands whose full parser imports the platform registry (every adapter, requests included);
#: a command line that cannot reach them builds only their summary (see build_parser)
DEFERRED = ("rollback",)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """Build the top-level parser with every available subcommand.

    With ``argv``, a command of :data:`DEFERRED` whose name does not occur in ``argv`` is
    registered as its summary line only (``register(sub, brief=True)``): that command line
    cannot reach it, and ``deploycheck --help`` does not pay for importing every platform.
    """
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
    for name, module_name in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        if words is not None and name in DEFERRED and name not in words:
            module.register(sub, brief=True)
        else:
            module.register(sub)
    completion = sub.add_parser(
        "completion",
        help="Print a shell completion script (bash, zsh or tcsh)",
        description="Print the completion script of a shell, generated from the parsers by shtab. "
        "bash: deploycheck completion bash > ~/.local/share/bash-completion/completions/deploycheck",
    )
    completion.add_argument("shell", choices=("bash", "zsh", "tcsh"), help="The shell")
    completion.set_defaults(func=_completion)
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


def _completion(args: argparse.Namespace) -> int:
    import shtab

    sys.stdout.write(shtab.complete(build_parser(), shell=args.shell))
    return 0


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
