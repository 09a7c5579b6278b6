"""The values the static schema evaluator works with, besides validators and plain data.

:class:`Ref` (something imported from a package: ``defineTable``, ``v.string``),
:class:`TableValue` (a ``defineTable(...)`` with its indexes so far), :class:`Unreadable`
(a value that could not be worked out, with the reason and ``file:line``), the package
names the evaluator models, and small helpers shared by :mod:`deploycheck.rollback.schema.read`
and :mod:`deploycheck.rollback.schema.builders`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from deploycheck.rollback.schema.model import Index, Kind, Validator

__all__ = [
    "HELPER_MODULES", "HELPER_SERVER_MODULES", "MAX_CALL_DEPTH", "PRIMITIVES", "SERVER_MODULES",
    "VALUES_MODULES", "Ref", "TableValue", "Unreadable", "config_of", "json_string", "optional_of",
    "required_of",
]

PRIMITIVES: dict[str, Kind] = {
    "string": "string", "number": "float64", "float64": "float64", "int64": "int64", "bigint": "int64",
    "boolean": "boolean", "bytes": "bytes", "null": "null", "any": "any",
}
SERVER_MODULES = {"convex/server"}
VALUES_MODULES = {"convex/values"}
HELPER_MODULES = {"convex-helpers/validators", "convex-helpers/server/validators"}
HELPER_SERVER_MODULES = {"convex-helpers/server"}
MAX_CALL_DEPTH = 32

@dataclass(frozen=True)
class Ref:
    """A reference to something from a package: ``defineTable`` from convex/server, ``v``, ..."""

    module: str
    name: str
    path: tuple[str, ...] = ()

    def member(self, name: str) -> Ref:
        return Ref(self.module, self.name, (*self.path, name))


@dataclass
class TableValue:
    document: Validator
    indexes: list[Index] = field(default_factory=list)
    line: int | None = None


@dataclass(frozen=True)
class Unreadable:
    """A value the evaluator could not work out, with the reason (becomes an unknown validator)."""

    reason: str
    where: str



def optional_of(validator: Validator) -> Validator:
    """``v.optional(x)`` is ``x.asOptional()`` in convex-js: optional once, however often applied."""
    return validator if validator.is_optional else Validator("optional", items=(validator,))


def required_of(validator: Validator) -> Validator:
    """Outside an object's fields optionality has no meaning (convex-js ``json`` drops it)."""
    return validator.items[0] if validator.is_optional else validator


def config_of(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        return {}
    return {key: item for key, (item, _node) in value.items()}


def json_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)
