"""``--format json`` for every command, with a format version (as Terraform's ``-json``).

``drift`` and ``sync-env`` write their own JSON documents, which carry ``format_version``.
Every other command runs with its output captured and prints one JSON object instead::

    {"format_version": 1, "command": ["rollback", "pages", ...], "exit_code": 0, "ok": true,
     "output": ["...the text it printed, line by line..."], "errors": ["...stderr lines..."]}

Everything printed still goes through the redactor.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
from collections.abc import Callable, Iterator, Sequence

from deploycheck.cli.options import add_format
from deploycheck.output import FORMAT_VERSION

__all__ = ["add_format_options", "run_as_json"]

def _leaves(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subparsers:
        yield parser
        return
    for action in subparsers:
        seen: set[int] = set()
        for child in action.choices.values():
            if id(child) not in seen:
                seen.add(id(child))
                yield from _leaves(child)


def add_format_options(parser: argparse.ArgumentParser) -> None:
    """Give every runnable (sub)command without one a ``--format text|json`` option."""
    for leaf in _leaves(parser):
        if leaf is parser or any("--format" in a.option_strings for a in leaf._actions):
            continue
        add_format(
            leaf, help="Output format: json prints one object with format_version, exit_code and the output"
        )


def run_as_json(argv: Sequence[str], call: Callable[[], int]) -> int:
    """Run ``call`` with stdout and stderr captured, then print the JSON envelope; return its exit code."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = call()
    document = {
        "format_version": FORMAT_VERSION,
        "command": list(argv),
        "exit_code": code,
        "ok": code == 0,
        "output": out.getvalue().splitlines(),
        "errors": err.getvalue().splitlines(),
    }
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return code
