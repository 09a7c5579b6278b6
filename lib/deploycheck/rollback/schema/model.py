"""The Convex schema model: tables, their document validators and indexes, as plain data.

:class:`Validator` (one normalised ``v.*`` validator), :class:`Index`, :class:`Table`,
:class:`ExternalTables` and :class:`Schema`, built by
:func:`deploycheck.rollback.schema.read.parse_schema` and compared by
:mod:`deploycheck.rollback.schema.diff`; :func:`union_of` builds a normalised union.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
    ``value`` a literal's JSON text; ``table`` an id's table.

    An ``unknown`` validator is one the static parser could not read. ``text`` is its whole
    source (never shortened) and ``digest`` a hash of that source and of everything it
    depends on (bindings, local modules, package versions), or empty when some dependency
    could not be pinned down; two unknowns are equal only when both digests are present
    and match. ``reason`` and ``where`` (``file:line``) say why and where; they do not take
    part in equality.
    """

    kind: Kind
    items: tuple[Validator, ...] = ()
    fields: tuple[tuple[str, Validator], ...] = ()
    value: str = ""
    table: str = ""
    text: str = ""
    digest: str = ""
    reason: str = field(default="", compare=False)
    where: str = field(default="", compare=False)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Validator):
            return NotImplemented
        if self.kind == "unknown" or other.kind == "unknown":
            return self.kind == other.kind and bool(self.digest) and self.digest == other.digest
        return (self.kind, self.items, self.fields, self.value, self.table) == (
            other.kind, other.items, other.fields, other.value, other.table)

    def __hash__(self) -> int:
        return hash((self.kind, self.items, self.fields, self.value, self.table, self.digest))

    @property
    def is_readable(self) -> bool:
        """False when this validator, or one inside it, could not be read by the static parser."""
        if self.kind == "unknown":
            return False
        return all(item.is_readable for item in self.items) and all(f.is_readable for _, f in self.fields)

    def unreadable(self) -> list[Validator]:
        """Every ``unknown`` validator in this one, outermost first."""
        if self.kind == "unknown":
            return [self]
        found: list[Validator] = []
        for item in (*self.items, *(f for _, f in self.fields)):
            found.extend(item.unreadable())
        return found

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
            text = " ".join(self.text.split())
            shown = text if len(text) <= 80 else text[:79] + "…"
            return f"<unreadable: {shown}>"
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
    """Tables spread in from a package (``...authTables`` from ``@convex-dev/auth/server``).

    ``version`` is the package's version pinned by the lockfile at that ref ("" when no
    lockfile names it); ``where`` is the spread's ``file:line``. The static parser does not
    read package sources, so these tables are only known to be unchanged when the group,
    its package and that version are the same at both refs.
    """

    name: str
    module: str
    version: str = ""
    where: str = field(default="", compare=False)


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
