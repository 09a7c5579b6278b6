"""The rollback-direction schema diff: every difference classified compatible or breaking."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploycheck.rollback.schema import diff_schemas, parse_schema

PAIRS = Path(__file__).resolve().parents[2] / "fixtures" / "convex-schemas" / "pairs"


def test_direction_matters() -> None:
    """A field added by the live code is breaking to roll back across, but not the other way round."""
    old = parse_schema((PAIRS / "field-removed" / "target.ts").read_text())
    new = parse_schema((PAIRS / "field-removed" / "live.ts").read_text())
    assert diff_schemas(new, old).is_breaking
    assert not diff_schemas(old, new).is_breaking


def test_identical_schemas_have_no_changes() -> None:
    """A schema compared with itself has no differences at all."""
    text = (PAIRS / "compatible" / "live.ts").read_text()
    assert diff_schemas(parse_schema(text), parse_schema(text)).is_empty


def _schema(fields: str, options: str = "") -> str:
    return (
        'import { defineSchema, defineTable } from "convex/server";\nimport { v } from "convex/values";\n'
        f"export default defineSchema({{ t: defineTable({{ {fields} }}) }}{options});\n"
    )


@pytest.mark.parametrize(
    ("live_fields", "target_fields", "kind", "breaking"),
    [
        # the change being rolled back is the one from the target (right) to the current schema (left)
        ("a: v.string()", "a: v.string(), b: v.optional(v.number())", "field removed (optional in the target)", False),
        ("a: v.string()", "a: v.string(), b: v.number()", "field removed (required in the target)", True),
        ("a: v.string(), b: v.optional(v.number())", "a: v.string()", "field added", True),
        ("a: v.string(), b: v.number()", "a: v.string()", "field added", True),
        ("a: v.optional(v.string())", "a: v.string()", "field made optional", True),
        ("a: v.string()", "a: v.optional(v.string())", "field made required", False),
        ("a: v.number()", "a: v.int64()", "type changed", True),
        ('a: v.literal("x")', "a: v.string()", "type narrowed to a literal", False),
        ("a: v.string()", 'a: v.literal("x")', "type widened from a literal", True),
        ('a: v.id("users")', "a: v.string()", "type narrowed to v.id", False),
        ("a: v.string()", 'a: v.id("users")', "type widened from v.id to v.string", True),
        ('a: v.id("users")', 'a: v.id("teams")', "id of another table", True),
        ("a: v.string()", "a: v.any()", "type narrowed from v.any()", False),
        ("a: v.any()", "a: v.string()", "type widened to v.any()", True),
        ("a: v.array(v.string())", "a: v.array(v.number())", "type changed", True),
        ("a: v.record(v.string(), v.number())", "a: v.record(v.string(), v.any())", "type narrowed from v.any()",
         False),
        ("a: v.union(v.string(), v.null())", "a: v.string()", "union member added", True),
        ("a: v.nullable(v.string())", "a: v.string()", "union member added", True),
        ("a: v.string()", "a: v.union(v.string(), v.null())", "type narrowed from a union", False),
        ('a: v.union(v.literal("x"), v.literal("y"))', 'a: v.literal("x")', "union member added", True),
        ('a: v.literal("x")', 'a: v.union(v.literal("x"), v.literal("y"))', "type narrowed from a union", False),
        ("a: v.bytes()", "a: v.boolean()", "type changed", True),
        ("a: v.array(v.object({ b: v.string(), c: v.optional(v.string()) }))",
         "a: v.array(v.object({ b: v.string() }))", "field added", True),
        ("a: custom(1)", "a: custom(2)", "validator not readable", True),
        ("a: custom(1)", "a: custom(1)", "validator not readable", True),
    ],
)
def test_field_level_classification(live_fields: str, target_fields: str, kind: str, breaking: bool) -> None:
    """Each kind of field change is named and classified as the rollback direction requires."""
    diff = diff_schemas(parse_schema(_schema(live_fields)), parse_schema(_schema(target_fields)))
    assert [(c.kind, c.breaking) for c in diff.changes] == [(kind, breaking)]


def test_schema_validation_turned_on_is_breaking() -> None:
    """Rolling back to a validated schema from an unvalidated one cannot vouch for the stored documents."""
    live = parse_schema(_schema("a: v.string()", ", { schemaValidation: false }"))
    target = parse_schema(_schema("a: v.string()"))
    assert next(c.kind for c in diff_schemas(live, target).breaking) == "schema validation turned off"


def test_any_document_table_accepts_everything() -> None:
    """A target table defined with ``v.any()`` accepts every live document."""
    live = parse_schema(_schema("a: v.string()"))
    target_text = _schema("a: v.string()").replace("defineTable({ a: v.string() })", "defineTable(v.any())")
    diff = diff_schemas(live, parse_schema(target_text))
    assert not diff.is_breaking and diff.changes
