"""The Convex schema guard: schemas as data (:mod:`.model`, :mod:`.read`), their differences
(:mod:`.diff`), and the guard over two git refs (:mod:`.guard`).
"""

from __future__ import annotations

from deploycheck.rollback.schema.diff import SchemaChange, SchemaDiff, diff_schemas
from deploycheck.rollback.schema.guard import (
    GuardResult,
    check_schema,
    enforce,
    git,
    previous_ref,
    resolve_ref,
    schema_at,
)
from deploycheck.rollback.schema.model import (
    ExternalTables,
    Index,
    Kind,
    Schema,
    Table,
    Validator,
    union_of,
)
from deploycheck.rollback.schema.read import parse_schema

__all__ = [
    "ExternalTables",
    "GuardResult",
    "Index",
    "Kind",
    "Schema",
    "SchemaChange",
    "SchemaDiff",
    "Table",
    "Validator",
    "check_schema",
    "diff_schemas",
    "enforce",
    "git",
    "parse_schema",
    "previous_ref",
    "resolve_ref",
    "schema_at",
    "union_of",
]
