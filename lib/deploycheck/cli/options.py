"""The options several commands share, each written once: one flag, dest, type, metavar and help.

``--config``, ``--sot`` and ``--state-dir`` read the same in every command that takes
them; ``--env`` says in each command what the environment is for. :func:`load_project`
reads the first three back the way every command does.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from deploycheck.config import ProjectConfig

__all__ = [
    "add_config",
    "add_env",
    "add_format",
    "add_list",
    "add_lock_timeout",
    "add_project_options",
    "add_target_filter",
    "load_project",
    "lock_timeout",
]


def add_config(parser: argparse.ArgumentParser, *, dest: str = "config") -> None:
    """``--config PATH``: the deploycheck.yaml to load (default: the nearest one)."""
    parser.add_argument(
        "--config", dest=dest, type=Path, default=None, metavar="PATH", help="Path of deploycheck.yaml"
    )


def add_env(parser: argparse.ArgumentParser, help: str, *, required: bool = False) -> None:
    """``--env ENV``, with ``help`` saying what the command does with that environment."""
    parser.add_argument("--env", default=None, required=required, help=help)


def add_project_options(
    parser: argparse.ArgumentParser, *, env: str | None = None, state_dir: bool = True
) -> None:
    """``--config``, ``--env`` (when ``env``, its help, is given), ``--sot`` and ``--state-dir``."""
    add_config(parser)
    if env is not None:
        add_env(parser, env)
    parser.add_argument(
        "--sot", type=Path, default=None, metavar="PATH", help="Source-of-truth table (or DEPLOYCHECK_SOT)"
    )
    if state_dir:
        parser.add_argument(
            "--state-dir", type=Path, default=None, metavar="PATH", help="Ledger, audit log and lock folder"
        )


def add_list(
    parser: argparse.ArgumentParser, flag: str, *, help: str, dest: str | None = None, metavar: str = "NAME"
) -> None:
    """A repeatable ``flag`` whose values collect in order into a list (empty when it is not given)."""
    parser.add_argument(flag, dest=dest, action="append", default=[], metavar=metavar, help=help)


def add_target_filter(parser: argparse.ArgumentParser, *, dest: str = "targets") -> None:
    """``--target NAME`` (repeatable): only these targets of the environment."""
    add_list(parser, "--target", dest=dest, help="Only this target (repeatable)")


def add_format(
    parser: argparse.ArgumentParser,
    choices: tuple[str, ...] = ("text", "json"),
    help: str = "Output format",
) -> None:
    """``--format``, one of ``choices`` (the first is the default)."""
    parser.add_argument("--format", choices=choices, default=choices[0], help=help)


def add_lock_timeout(parser: argparse.ArgumentParser, help: str) -> None:
    """``--lock-timeout SECONDS``: how long to wait for the state's lock (read by :func:`lock_timeout`)."""
    parser.add_argument("--lock-timeout", type=float, default=None, metavar="SECONDS", help=help)


def lock_timeout(given: float | None) -> float:
    """``--lock-timeout``, else ``DEPLOYCHECK_LOCK_TIMEOUT``, else the default (5 s)."""
    from deploycheck.state import DEFAULT_LOCK_TIMEOUT

    if given is not None:
        return given
    return float(os.environ.get("DEPLOYCHECK_LOCK_TIMEOUT") or DEFAULT_LOCK_TIMEOUT)


def load_project(args: argparse.Namespace) -> tuple[ProjectConfig, str, Path]:
    """The config of ``--config``, the environment of ``--env`` (default: default_env) and its table.

    The table is ``--sot``, else ``DEPLOYCHECK_SOT``, else the one the config names; an
    unknown environment is a ConfigError.
    """
    from deploycheck.config import load_config

    config = load_config(args.config)
    env: str = args.env or config.default_env
    config.environment(env)
    return config, env, config.sot_path(env, str(args.sot) if args.sot else os.environ.get("DEPLOYCHECK_SOT"))
