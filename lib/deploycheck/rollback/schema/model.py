"""The Convex schema model: tables, their document validators and indexes, as plain data.

:class:`Validator` (one normalised ``v.*`` validator), :class:`Index`, :class:`Table`,
:class:`ExternalTables` and :class:`Schema`, built by
:func:`deploycheck.rollback.schema.read.parse_schema` and compared by
:mod:`deploycheck.rollback.schema.diff`; :func:`union_of` builds a normalised union.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["ExternalTables", "Index", "Kind", "Schema", "Table", "Validator", "union_of"]

Kind = Literal[
    "string", "float64", "int64", "boolean", "bytes", "null", "any",
    "id", "literal", "array", "object", "record", "union", "optional", "unknown",
]


@dataclass(frozen=True)
class Validator:
    """One ``v.*`` validator, normalised (``v.number`` is ``float64``, ``v.bigint`` is ``int64``).

    ``items`` holds the element of an array, the members of a union, the key and value of
    a record, or the inner validator of an optional; ``fields`` the fields of an object;
    ``value`` a literal's JSON text; ``table`` an id's table; ``text`` an unknown's source.
    """

    kind: Kind
    items: tuple[Validator, ...] = ()
    fields: tuple[tuple[str, Validator], ...] = ()
    value: str = ""
    table: str = ""
    text: str = ""

    @property
    def is_optional(self) -> bool:
        """True for ``v.optional(...)``."""
        return self.kind == "optional"

    def field_map(self) -> dict[str, Validator]:
        """The fields of an object validator by name."""
        return dict(self.fields)

    def describe(self) -> str:
        """The validator written back as ``v.*`` source, e.g. ``v.union(v.literal("a"), v.null())``."""
        if self.kind in {"string", "float64", "int64", "boolean", "bytes", "null", "any"}:
            return f"v.{self.kind}()"
        if self.kind == "id":
            return f'v.id("{self.table}")'
        if self.kind == "literal":
            return f"v.literal({self.value})"
        if self.kind == "unknown":
            return self.text
        if self.kind == "object":
            inner = ", ".join(f"{name}: {item.describe()}" for name, item in self.fields)
            return f"v.object({{{inner}}})"
        return f"v.{self.kind}({', '.join(item.describe() for item in self.items)})"


@dataclass(frozen=True)
class Index:
    """An index of a table: ``kind`` is ``index``, ``search`` or ``vector``."""

    name: str
    kind: Literal["index", "search", "vector"]
    fields: tuple[str, ...]
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Table:
    """A table: its document validator (object, union of objects, or any) and indexes."""

    name: str
    document: Validator
    indexes: tuple[Index, ...] = ()
    line: int | None = None

    @property
    def is_validated(self) -> bool:
        """False when the document validator is ``v.any()`` (nothing is checked on write)."""
        return self.document.kind != "any"


@dataclass(frozen=True)
class ExternalTables:
    """Tables spread in from a package (``...authTables`` from ``@convex-dev/auth/server``)."""

    name: str
    module: str


@dataclass(frozen=True)
class Schema:
    """A whole ``defineSchema(...)``: tables, package table groups, and the two options."""

    tables: dict[str, Table]
    externals: tuple[ExternalTables, ...] = ()
    schema_validation: bool = True
    strict_table_name_types: bool = True
    source: str = "schema.ts"


def union_of(members: list[Validator]) -> Validator:
    """A union of ``members``: nested unions flattened, duplicates dropped, order-independent."""
    flat: list[Validator] = []
    for member in members:
        for item in member.items if member.kind == "union" else (member,):
            if item not in flat:
                flat.append(item)
    if len(flat) == 1:
        return flat[0]
    return Validator("union", items=tuple(sorted(flat, key=lambda m: m.describe())))
