"""The rollback-direction schema diff: every difference classified compatible or breaking."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from deploycheck.rollback.schema import diff_schemas, parse_schema

PAIRS = Path(__file__).resolve().parents[2] / "fixtures" / "convex-schemas" / "pairs"


@pytest.mark.parametrize("pair", sorted(p.name for p in PAIRS.iterdir() if p.is_dir()))
def test_pair_differences_match_the_expected_classification(pair: str) -> None:
    """Each fixture pair yields exactly the breaking and compatible changes its expected.yaml lists."""
    folder = PAIRS / pair
    live = parse_schema((folder / "live.ts").read_text(), "live.ts")
    target = parse_schema((folder / "target.ts").read_text(), "target.ts")
    expected = yaml.safe_load((folder / "expected.yaml").read_text())
    diff = diff_schemas(live, target)
    assert sorted(f"{c.path}: {c.kind}" for c in diff.breaking) == sorted(expected["breaking"])
    assert sorted(f"{c.path}: {c.kind}" for c in diff.compatible) == sorted(expected["compatible"])


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
        ("a: v.string()", "a: v.string(), b: v.optional(v.number())", "optional field added", False),
        ("a: v.string()", "a: v.string(), b: v.number()", "required field added", True),
        ("a: v.optional(v.string())", "a: v.string()", "optional to required", True),
        ("a: v.string()", "a: v.optional(v.string())", "required to optional", False),
        ("a: v.number()", "a: v.int64()", "type changed", True),
        ('a: v.literal("x")', "a: v.string()", "literal widened", False),
        ('a: v.id("users")', "a: v.string()", "id widened to string", False),
        ("a: v.string()", 'a: v.id("users")', "type changed", True),
        ("a: v.string()", "a: v.any()", "type widened to v.any()", False),
        ("a: v.any()", "a: v.string()", "type changed", True),
        ("a: v.array(v.string())", "a: v.array(v.number())", "type changed", True),
        ("a: v.record(v.string(), v.number())", "a: v.record(v.string(), v.any())", "type widened to v.any()", False),
        ("a: v.union(v.string(), v.null())", "a: v.string()", "union member removed", True),
        ("a: v.string()", "a: v.union(v.string(), v.null())", "type widened to a union", False),
        ("a: v.bytes()", "a: v.boolean()", "type changed", True),
        ("a: custom(1)", "a: custom(2)", "validator changed and cannot be compared", True),
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
    assert next(c.kind for c in diff_schemas(live, target).breaking).startswith("schema validation turned on")


def test_any_document_table_accepts_everything() -> None:
    """A target table defined with ``v.any()`` accepts every live document."""
    live = parse_schema(_schema("a: v.string()"))
    target_text = _schema("a: v.string()").replace("defineTable({ a: v.string() })", "defineTable(v.any())")
    diff = diff_schemas(live, parse_schema(target_text))
    assert not diff.is_breaking and diff.changes
