"""Plain-text help and the CLI reference page (``docs/cli.md``), both built from the parsers.

``python -m deploycheck.cli.reference > docs/cli.md`` regenerates the page; a test checks
that the committed page is current, so it cannot drift from the parsers.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterator

__all__ = ["plain", "render_reference"]

_ROLE = re.compile(r":(?:class|func|meth|mod|attr|data):`~?(?:[\w.]+\.)?([\w]+)`")
_LITERAL = re.compile(r"``([^`]+)``")
#: the width the reference page is rendered at, whatever the terminal
WIDTH = "100"


def plain(text: str | None) -> str:
    """A docstring as plain text for ``--help``: reST roles and double backquotes removed."""
    return _LITERAL.sub(r"\1", _ROLE.sub(r"\1", text or "")).strip()


def _walk(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield " ".join(path), parser
    for action in parser._actions:  # argparse exposes subparsers only through its actions
        if isinstance(action, argparse._SubParsersAction):
            seen: set[int] = set()
            for name, child in action.choices.items():
                if id(child) in seen:
                    continue  # an alias of a command already listed
                seen.add(id(child))
                yield from _walk(child, (*path, name))


def render_reference(parser: argparse.ArgumentParser) -> str:
    """The Markdown reference of every command and subcommand: its ``--help`` as printed."""
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH
    try:
        sections = [
            "# Command-line reference",
            "",
            "Generated from the parsers by `python -m deploycheck.cli.reference > docs/cli.md`; "
            "`tests/test_cli_reference.py` fails when this page is out of date.",
            "",
        ]
        for name, child in _walk(parser):
            title = f"deploycheck {name}".strip()
            sections += [f"## `{title}`", "", "```text", child.format_help().rstrip(), "```", ""]
    finally:
        if saved is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = saved
    return "\n".join(sections)


def main() -> int:
    """Print the reference page."""
    from deploycheck.cli import build_parser

    sys.stdout.write(render_reference(build_parser()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
