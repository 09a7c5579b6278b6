"""The source-of-truth model: :class:`Entry` rows, the :class:`SourceOfTruth` table, the secret rule.

What :func:`deploycheck.sot.parse.load_sot` returns once the table is parsed and validated:
entries with their targets and two values (never in ``repr``), lookups by target, and
the values to hand to the redactor. :func:`is_secret_name` is the default rule deciding
by name alone whether a key holds a secret.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from deploycheck.errors import Problem

__all__ = [
    "PLAIN_PREFIXES",
    "SECRET_SUFFIXES",
    "SECRET_WORDS",
    "Column",
    "Entry",
    "SourceOfTruth",
    "is_secret_name",
]

Column = Literal["dev", "prod"]
PLAIN_PREFIXES: tuple[str, ...] = ("NEXT_PUBLIC_",)
SECRET_WORDS: tuple[str, ...] = ("SECRET", "TOKEN", "PASSWORD", "PRIVATE", "CREDENTIAL", "WEBHOOK")
SECRET_SUFFIXES: tuple[str, ...] = ("_KEY",)


def is_secret_name(key: str) -> bool:
    """Decide by name alone whether ``key`` holds a secret (the documented default rule)."""
    name = key.upper()
    if name.startswith(PLAIN_PREFIXES):
        return False
    return any(word in name for word in SECRET_WORDS) or name.endswith(SECRET_SUFFIXES)


@dataclass(frozen=True)
class Entry:
    """One row of the table: a key, the targets it goes to, and its two values.

    ``dev`` is None when DEV_VALUE is empty ("not set in development"); ``prod`` is None
    when PROD_VALUE is empty. Values never appear in ``repr``.
    """

    targets: tuple[str, ...]
    group: str
    key: str
    dev: str | None = field(repr=False)
    prod: str | None = field(repr=False)
    secret: bool
    line: int
    source: Path

    def value(self, column: Column) -> str | None:
        """The value of this key in the ``dev`` or ``prod`` column (None when empty)."""
        return self.dev if column == "dev" else self.prod

    @property
    def where(self) -> str:
        """``file:line`` of the row, for messages."""
        return f"{self.source}:{self.line}"


@dataclass(frozen=True)
class SourceOfTruth:
    """A parsed and validated table, plus the warnings validation found."""

    path: Path
    entries: list[Entry]
    warnings: list[Problem] = field(default_factory=list)

    def for_target(self, target_name: str) -> list[Entry]:
        """The entries that go to ``target_name``, in file order."""
        return [e for e in self.entries if target_name in e.targets]

    def key_names(self) -> list[str]:
        """Every key of the table, in file order, without repeats."""
        return list(dict.fromkeys(e.key for e in self.entries))

    def targets(self) -> list[str]:
        """Every target the table names, in order of first use."""
        return list(dict.fromkeys(t for e in self.entries for t in e.targets))

    def secret_values(self) -> list[str]:
        """Every non-empty value (both columns) of every secret key, for the redactor.

        A Convex key ``prod:<deployment>|<secret>`` gives only its part after ``|``: the
        deployment name is not secret, and masking pieces of it would hide which
        deployment a message is about. Likewise a URL's scheme (``https://``) is left out,
        or every URL in every output would be masked.
        """
        values = [_secret_part(v) for e in self.entries if e.secret for v in (e.dev, e.prod) if v]
        return list(dict.fromkeys(values))


    def register_with_redactor(self) -> None:
        """Register every secret value with the redactor, and every plain value as public.

        Plain values are public: a piece of a secret that also stands in one of them
        (``.example.com``) is not worth masking everywhere it appears.
        """
        from deploycheck.redact import register_public, register_secret

        for entry in self.entries:
            for value in (entry.dev, entry.prod):
                if not value:
                    continue
                if entry.secret:
                    register_secret(value)
                else:
                    register_public(value)


_CONVEX_KEY = re.compile(r"^(?:prod|dev|preview|project)(?::[\w-]+)+\|(.+)$")


def _secret_part(value: str) -> str:
    match = _CONVEX_KEY.match(value)
    if match:
        return match.group(1)
    scheme, sep, rest = value.partition("://")
    return rest if sep and scheme.isalpha() and rest else value
