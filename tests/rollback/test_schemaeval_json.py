"""The export() JSON of convex-js turned into the schema model, and the guard's choice of path."""

from __future__ import annotations

import base64
from pathlib import Path

from deploycheck.rollback.schema import (
    Validator,
    check_schema,
    find_toolchain,
    schema_from_json,
    validator_from_json,
)

# the shape of SchemaDefinition.export() in convex-js src/server/schema.ts
EXPORT = {
    "tables": [
        {
            "tableName": "messages",
            "indexes": [{"indexDescriptor": "by_author", "fields": ["author"]}],
            "stagedDbIndexes": [{"indexDescriptor": "by_body", "fields": ["body"]}],
            "searchIndexes": [{"indexDescriptor": "search_body", "searchField": "body", "filterFields": ["author"]}],
            "stagedSearchIndexes": [],
            "vectorIndexes": [{"indexDescriptor": "by_vec", "vectorField": "vec", "dimensions": 8,
                               "filterFields": []}],
            "stagedVectorIndexes": [],
            "documentType": {
                "type": "object",
                "value": {
                    "author": {"fieldType": {"type": "id", "tableName": "users"}, "optional": False},
                    "body": {"fieldType": {"type": "string"}, "optional": False},
                    "vec": {"fieldType": {"type": "array", "value": {"type": "number"}}, "optional": True},
                    "n": {"fieldType": {"type": "literal",
                                        "value": {"$integer": base64.b64encode((-5).to_bytes(8, "little",
                                                                                             signed=True)).decode()}},
                          "optional": False},
                    "tags": {"fieldType": {"type": "record", "keys": {"type": "string"},
                                           "values": {"fieldType": {"type": "bigint"}, "optional": False}},
                             "optional": False},
                    "state": {"fieldType": {"type": "union", "value": [{"type": "literal", "value": "a"},
                                                                        {"type": "null"}]},
                              "optional": False},
                },
            },
        }
    ],
    "schemaValidation": False,
}


def test_export_json_becomes_the_same_model_the_static_parser_builds() -> None:
    """Fields, optionality, bigint literals, records, unions and every index kind are carried over."""
    schema = schema_from_json(EXPORT)
    table = schema.tables["messages"]
    fields = table.document.field_map()
    assert fields["author"] == Validator("id", table="users")
    assert fields["vec"] == Validator("optional", items=(Validator("array", items=(Validator("float64"),)),))
    assert fields["n"] == Validator("literal", value="-5n")
    assert fields["tags"] == Validator("record", items=(Validator("string"), Validator("int64")))
    assert fields["state"].kind == "union" and Validator("null") in fields["state"].items
    assert {(i.name, i.kind) for i in table.indexes} == {
        ("by_author", "index"), ("by_body", "index"), ("search_body", "search"), ("by_vec", "vector")}
    assert schema.schema_validation is False


def test_an_unmodelled_validator_type_is_unreadable_not_dropped() -> None:
    """A ValidatorJSON type this model does not know becomes an unknown validator with a reason."""
    found = validator_from_json({"type": "commitTs"})
    assert found.kind == "unknown" and "commitTs" in found.reason


def test_without_node_modules_the_toolchain_is_absent_with_a_reason(tmp_path: Path) -> None:
    """No node_modules with convex: find_toolchain says so, and names where it looked."""
    toolchain, why = find_toolchain([tmp_path], environ={"PATH": ""})
    assert toolchain is None and why


def test_guard_reports_the_static_path_and_refuses_when_node_is_required(git_app) -> None:  # type: ignore[no-untyped-def]
    """Without node_modules the guard says it used the static parser; with evaluator=node it refuses."""
    schema = ('import { defineSchema, defineTable } from "convex/server";\nimport { v } from "convex/values";\n'
              "export default defineSchema({ t: defineTable({ a: v.string() }) });\n")
    git_app.commit(schema, "one")
    git_app.commit(schema.replace("a: v.string()", "a: v.string(), b: v.optional(v.number())"), "two")
    auto = check_schema(git_app.root, "convex", "HEAD", "HEAD~1")
    assert auto.method == "static" and "Node evaluation unavailable" in auto.method_note
    assert auto.lines()[0].startswith("schemas read by: static parser (Node evaluation unavailable: ")
    assert [c.kind for c in auto.diff.breaking] == ["field added"]
    required = check_schema(git_app.root, "convex", "HEAD", "HEAD~1", "node")
    assert required.is_breaking and required.error.startswith("--schema-eval node: Node evaluation unavailable")
