"""``deploycheck completion bash|zsh|tcsh``: the shell completion script, made from the parsers by shtab."""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The shell to complete for."""
    parser.add_argument("shell", choices=("bash", "zsh", "tcsh"), help="The shell")


def run(args: argparse.Namespace) -> int:
    """Print the completion script of ``args.shell``."""
    import shtab

    from deploycheck.cli import build_parser

    sys.stdout.write(shtab.complete(build_parser(), shell=args.shell))
    return 0
