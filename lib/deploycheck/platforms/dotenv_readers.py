"""How the tools that read a project's local ``.env`` files parse them, and a writer they all agree on.

deploycheck writes ``.env.local`` / ``.dev.vars`` files, but the tools that read them are
the app's own: Node's ``dotenv`` (``dotenv.parse``), Next.js's ``@next/env`` (``dotenv.parse``
then its bundled dotenv-expand), wrangler (``dotenv.parse`` of dotenv 16.3.1 for
``.dev.vars``, no expansion), and python-dotenv, which deploycheck itself reads them with.
Their rules, from their sources:

- ``dotenv.parse`` (dotenv 16.3.1 and 18.0.10 alike; the copy inside ``@next/env`` too)
  normalises ``\\r\\n`` and ``\\r`` to ``\\n`` first, then takes ``'...'``, ``"..."`` or
  ```...``` and strips the quotes. Nothing is unescaped, except that in double quotes the
  two-character sequences ``\\n`` and ``\\r`` become a newline and a carriage return:
  ``'it\\'s'`` reads ``it\\'s``, ``"a\\"b"`` reads ``a\\"b``, ``'back\\\\slash'`` keeps both
  backslashes.
- python-dotenv unescapes ``\\\\`` and ``\\'`` in single quotes, and ``\\\\``, ``\\'``, ``\\"``,
  ``\\a``, ``\\b``, ``\\f``, ``\\n``, ``\\r``, ``\\t``, ``\\v`` in double quotes; backticks are
  not quotes to it.
- ``@next/env``'s expansion replaces ``$NAME`` / ``${NAME}`` / ``${NAME:-default}`` that is not
  preceded by a backslash (working from the last ``$`` backwards, stopping at the first
  ``$`` that does not start a reference) and then turns every ``\\$`` into ``$``.

Unquoted, python-dotenv reads the rest of the line (a ``#`` after whitespace starts a
comment), Node's dotenv up to the first ``#``, both trimmed and verbatim.

So a value is written single-quoted when it holds no ``'``, no carriage return, no
``\\\\`` and does not end in ``\\`` (every reader then reads it verbatim, newlines
included); else double-quoted, with newlines and carriage returns as ``\\n`` / ``\\r``, when
it holds no ``"`` and no backslash that a reader would take for an escape (one followed by
``\\``, a quote, ``a b f n r t v``, a line break, or ending the value); else unquoted when
it is one line without ``#``, without surrounding whitespace and not starting with a quote.
Any other value cannot be written so that every reader agrees, and neither can a value
that ``@next/env``'s expansion would change in a file it reads:
:func:`unrepresentable` says why, and the sync refuses it naming file and key.
"""

from __future__ import annotations

import re
from collections.abc import Collection

__all__ = [
    "NEXT_ENV",
    "NODE_DOTENV",
    "PYTHON_DOTENV",
    "READERS",
    "WRANGLER",
    "format_value",
    "unrepresentable",
]

PYTHON_DOTENV = "python-dotenv"
NODE_DOTENV = "dotenv"
NEXT_ENV = "@next/env"
WRANGLER = "wrangler"
#: every reader this module knows, with what reads files that way
READERS = {
    PYTHON_DOTENV: "deploycheck's own drift and sync",
    NODE_DOTENV: "Node's dotenv (the Convex CLI, Node scripts)",
    NEXT_ENV: "Next.js (@next/env)",
    WRANGLER: "wrangler dev (.dev.vars)",
}
_REFERENCE = re.compile(r"(?<!\\)\$\{?\w")


def _single_quotable(value: str) -> bool:
    return "'" not in value and "\r" not in value and "\\\\" not in value and not value.endswith("\\")


#: what may follow a backslash in double quotes: python-dotenv unescapes these, Node turns \n / \r
#: into line breaks, and a line break is written as \n itself
_ESCAPED_BY_A_READER = frozenset("\\'\"abfnrtv\n\r")


def _double_quotable(value: str) -> bool:
    if '"' in value:
        return False
    return all(
        i + 1 < len(value) and value[i + 1] not in _ESCAPED_BY_A_READER
        for i, char in enumerate(value)
        if char == "\\"
    )


def _bare(value: str) -> bool:
    return (
        bool(value)
        and value == value.strip()
        and not any(c in value for c in "#\r\n")
        and value[0] not in "'\"`"
    )


def format_value(value: str) -> str:
    """``value`` quoted so that every reader in :data:`READERS` reads back exactly ``value``.

    Raises ValueError when no quoting does (see :func:`unrepresentable`).
    """
    if _single_quotable(value):
        return f"'{value}'"
    if _double_quotable(value):
        return '"' + value.replace("\n", "\\n").replace("\r", "\\r") + '"'
    if _bare(value):
        return value
    msg = "it holds a quote or a line break together with a backslash and cannot go unquoted"
    raise ValueError(msg)


def unrepresentable(value: str, readers: Collection[str]) -> str | None:
    """Why ``value`` cannot be written for ``readers`` to read back exactly (None when it can)."""
    if not (_single_quotable(value) or _double_quotable(value) or _bare(value)):
        return (
            "it holds a ' or a carriage return (which only double quotes carry) together with a backslash "
            'or a " (which only single quotes carry verbatim), and a line break, a # or surrounding '
            "spaces that keep it from going unquoted: Node's dotenv and python-dotenv would read "
            "different values"
        )
    if NEXT_ENV in readers and (_REFERENCE.search(value) or "\\$" in value):
        return (
            "Next.js (@next/env) expands $NAME / ${NAME} and turns \\$ into $, so it would read another value"
        )
    return None
