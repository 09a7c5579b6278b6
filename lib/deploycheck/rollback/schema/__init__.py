"""The Convex schema guard: schemas as data (:mod:`.model`, :mod:`.read`), their differences
(:mod:`.diff`), and the guard over two git refs (:mod:`.guard`).
"""

from __future__ import annotations

from deploycheck.rollback.schema.builders import ConvexBuilders
from deploycheck.rollback.schema.diff import SchemaChange, SchemaDiff, diff_schemas
from deploycheck.rollback.schema.digest import DependencyDigest, arrow_parameters, package_name
from deploycheck.rollback.schema.evaluate import (
    EvaluatedSchema,
    NodeToolchain,
    SchemaEvalError,
    evaluate_at,
    evaluate_folder,
    find_toolchain,
    schema_from_json,
    validator_from_json,
)
from deploycheck.rollback.schema.guard import (
    Evaluator,
    GuardResult,
    check_schema,
    enforce,
    folder_diff,
    git,
    previous_ref,
    resolve_ref,
    schema_at,
)
from deploycheck.rollback.schema.lockfile import LOCKFILES, find_lockfile, locked_versions
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
from deploycheck.rollback.schema.values import (
    HELPER_MODULES,
    HELPER_SERVER_MODULES,
    MAX_CALL_DEPTH,
    PRIMITIVES,
    SERVER_MODULES,
    VALUES_MODULES,
    Ref,
    TableValue,
    Unreadable,
    config_of,
    json_string,
    optional_of,
    required_of,
)

__all__ = [
    "HELPER_MODULES",
    "HELPER_SERVER_MODULES",
    "LOCKFILES",
    "MAX_CALL_DEPTH",
    "PRIMITIVES",
    "SERVER_MODULES",
    "VALUES_MODULES",
    "ConvexBuilders",
    "DependencyDigest",
    "EvaluatedSchema",
    "Evaluator",
    "ExternalTables",
    "GuardResult",
    "Index",
    "Kind",
    "NodeToolchain",
    "Ref",
    "Schema",
    "SchemaChange",
    "SchemaDiff",
    "SchemaEvalError",
    "Table",
    "TableValue",
    "Unreadable",
    "Validator",
    "arrow_parameters",
    "check_schema",
    "config_of",
    "diff_schemas",
    "enforce",
    "evaluate_at",
    "evaluate_folder",
    "find_lockfile",
    "find_toolchain",
    "folder_diff",
    "git",
    "json_string",
    "locked_versions",
    "optional_of",
    "package_name",
    "parse_schema",
    "previous_ref",
    "required_of",
    "resolve_ref",
    "schema_at",
    "schema_from_json",
    "union_of",
    "validator_from_json",
]
