"""The schema guard's rules in full: every change's path, kind, verdict and both sides, as the rollback report shows them."""

from __future__ import annotations

import pytest

from deploycheck.rollback.schema import Schema, SchemaChange, SchemaDiff, diff_schemas, parse_schema

HEAD = 'import { defineSchema, defineTable } from "convex/server";\nimport { v } from "convex/values";\n'


def schema(tables: str, options: str = "", imports: str = "") -> Schema:
    return parse_schema(f"{HEAD}{imports}export default defineSchema({{ {tables} }}{options});\n")


def table(fields: str, extra: str = "") -> Schema:
    return schema(f"t: defineTable({{ {fields} }}){extra}")


def changes(live: Schema, target: Schema) -> list[tuple[str, str, bool, str, str]]:
    return [(c.path, c.kind, c.breaking, c.live, c.target) for c in diff_schemas(live, target).changes]


def test_change_text_names_both_sides() -> None:
    """A change reads "path: kind (live: ...; target: ...)", a missing side shown as "-", no sides at all omitted."""
    assert str(SchemaChange("t.a", "type changed", True, "v.string()", "v.number()")) == (
        "t.a: type changed (live: v.string(); target: v.number())"
    )
    assert str(SchemaChange("t.a", "field removed", True, "v.string()")) == "t.a: field removed (live: v.string(); target: -)"
    assert str(SchemaChange("t.b", "optional field added", False, "", "v.optional(v.number())")) == (
        "t.b: optional field added (live: -; target: v.optional(v.number()))"
    )
    assert str(SchemaChange("...auth", "tables from @convex-dev/auth/server removed", True)) == (
        "...auth: tables from @convex-dev/auth/server removed"
    )


def test_diff_groups_breaking_and_compatible() -> None:
    """A diff splits its changes into breaking and compatible ones, in order, and knows when it is empty."""
    one = SchemaChange("t.a", "field removed", True)
    two = SchemaChange("t.b", "optional field added", False)
    three = SchemaChange("t.c", "required field added", True)
    diff = SchemaDiff((one, two, three))
    assert diff.breaking == (one, three)
    assert diff.compatible == (two,)
    assert diff.is_breaking and not diff.is_empty
    safe = SchemaDiff((two,))
    assert not safe.is_breaking and safe.breaking == ()
    assert SchemaDiff(()).is_empty and not SchemaDiff(()).is_breaking


def test_field_changes_carry_both_validators() -> None:
    """Removed, added and retyped fields name the table and field and show the validators involved."""
    live = table("a: v.string(), b: v.number(), c: v.boolean()")
    target = table("b: v.string(), c: v.boolean(), d: v.optional(v.int64()), e: v.bytes()")
    assert changes(live, target) == [
        ("t.a", "field removed", True, "v.string()", ""),
        ("t.d", "optional field added", False, "", "v.optional(v.int64())"),
        ("t.e", "required field added", True, "", "v.bytes()"),
        ("t.b", "type changed", True, "v.float64()", "v.string()"),
    ]


def test_optional_changes_and_the_inner_type() -> None:
    """Optional to required (breaking) and back (compatible) show both sides; the inner types are compared too."""
    assert changes(table("a: v.optional(v.string())"), table("a: v.string()")) == [
        ("t.a", "optional to required", True, "v.optional(v.string())", "v.string()")
    ]
    assert changes(table("a: v.string()"), table("a: v.optional(v.string())")) == [
        ("t.a", "required to optional", False, "v.string()", "v.optional(v.string())")
    ]
    assert changes(table("a: v.optional(v.string())"), table("a: v.number()")) == [
        ("t.a", "optional to required", True, "v.optional(v.string())", "v.float64()"),
        ("t.a", "type changed", True, "v.string()", "v.float64()"),
    ]
    assert changes(table("a: v.optional(v.string())"), table("a: v.optional(v.number())")) == [
        ("t.a", "type changed", True, "v.string()", "v.float64()")
    ]


def test_nested_paths() -> None:
    """Changes inside objects, arrays and records are named by their path: a.b, a[], a{key}, a{value}."""
    live = table("o: v.object({ x: v.string() }), l: v.array(v.string()), r: v.record(v.string(), v.string())")
    target = table("o: v.object({ x: v.number() }), l: v.array(v.number()), r: v.record(v.id(\"u\"), v.number())")
    # sorted: fields present on both sides come in no fixed order
    assert sorted(changes(live, target)) == [
        ("t.l[]", "type changed", True, "v.string()", "v.float64()"),
        ("t.o.x", "type changed", True, "v.string()", "v.float64()"),
        ("t.r{key}", "type changed", True, "v.string()", 'v.id("u")'),
        ("t.r{value}", "type changed", True, "v.string()", "v.float64()"),
    ]


@pytest.mark.parametrize(
    ("live", "target", "kind", "breaking"),
    [
        ('v.literal("x")', "v.string()", "literal widened", False),
        ("v.literal(true)", "v.boolean()", "literal widened", False),
        ("v.literal(false)", "v.boolean()", "literal widened", False),
        ("v.literal(3n)", "v.int64()", "literal widened", False),
        ("v.literal(3)", "v.float64()", "literal widened", False),
        ("v.literal(3)", "v.int64()", "type changed", True),
        ('v.literal("x")', "v.boolean()", "type changed", True),
        ("v.literal(true)", "v.string()", "type changed", True),
        ("v.literal(3n)", "v.float64()", "type changed", True),
        ('v.id("users")', "v.string()", "id widened to string", False),
        ('v.id("users")', 'v.id("teams")', "type changed", True),
        ("v.string()", 'v.id("users")', "type changed", True),
        ("v.string()", "v.any()", "type widened to v.any()", False),
    ],
)
def test_scalar_widening_rules(live: str, target: str, kind: str, breaking: bool) -> None:
    """A literal widens only to its own base type, an id only to a string; anything widens to v.any()."""
    assert changes(table(f"a: {live}"), table(f"a: {target}")) == [
        ("t.a", kind, breaking, parse_schema(f"{HEAD}export default defineSchema({{ t: defineTable({{ a: {live} }}) }});")
         .tables["t"].document.field_map()["a"].describe(),
         table(f"a: {target}").tables["t"].document.field_map()["a"].describe())
    ]  # fmt: skip


def test_unknown_validator_cannot_be_compared() -> None:
    """A validator the guard cannot read, on either side, is a breaking "cannot be compared" change."""
    found = changes(table("a: custom(1)"), table("a: v.string()"))
    assert found == [("t.a", "validator changed and cannot be compared", True, "custom(1)", "v.string()")]
    found = changes(table("a: v.string()"), table("a: custom(2)"))
    assert [(p, k, b) for p, k, b, _, _ in found] == [("t.a", "validator changed and cannot be compared", True)]


def test_union_rules() -> None:
    """A member only LIVE has is breaking; a member only TARGET has is compatible; a scalar may widen to a union."""
    assert changes(table("a: v.union(v.string(), v.null())"), table("a: v.string()")) == [
        ("t.a", "union member removed", True, "v.null()", "")
    ]
    assert changes(table("a: v.string()"), table("a: v.union(v.string(), v.null())")) == [
        ("t.a", "type widened to a union", False, "v.string()", "v.union(v.null(), v.string())")
    ]
    assert changes(table("a: v.union(v.string(), v.null())"), table("a: v.union(v.string(), v.null(), v.number())")) == [
        ("t.a", "union member added", False, "", "v.float64()")
    ]
    assert changes(table("a: v.boolean()"), table("a: v.union(v.string(), v.null())")) == [
        ("t.a", "type changed", True, "v.boolean()", "v.union(v.null(), v.string())")
    ]


def test_union_member_widened_in_place() -> None:
    """A union member that only widens (literal to its base type) is accepted: nothing breaking, nothing removed."""
    diff = diff_schemas(table('a: v.union(v.literal("a"), v.null())'), table("a: v.union(v.string(), v.null())"))
    assert not diff.is_breaking
    assert not any(c.kind == "union member removed" for c in diff.changes)


DOC_A = 'v.object({ kind: v.literal("a"), x: v.string() })'
DOC_B = 'v.object({ kind: v.literal("b"), y: v.number() })'


def test_discriminated_members_are_paired_by_their_literals() -> None:
    """Members of a union of objects evolve by their discriminator: the path names it, the change is inside."""
    live = schema(f"t: defineTable(v.union({DOC_A}, {DOC_B}))")
    target = schema(
        f't: defineTable(v.union(v.object({{ kind: v.literal("a"), x: v.number() }}), {DOC_B}))'
    )
    assert changes(live, target) == [('t<kind="a">.x', "type changed", True, "v.string()", "v.float64()")]


def test_discriminated_member_added_and_removed() -> None:
    """A new discriminated member is a compatible addition; dropping one is breaking."""
    one = schema(f"t: defineTable(v.union({DOC_A}, v.null()))")
    two = schema(f"t: defineTable(v.union({DOC_A}, {DOC_B}, v.null()))")
    assert [(p, k, b) for p, k, b, _, _ in changes(one, two)] == [("t", "union member added", False)]
    assert [(p, k, b) for p, k, b, _, _ in changes(two, one)] == [("t", "union member removed", True)]


def test_objects_without_discriminator_pair_only_when_alone() -> None:
    """Two object members with no literal fields cannot be paired: each unmatched live member is removed."""
    live = schema("t: defineTable(v.union(v.object({ x: v.string() }), v.null()))")
    target = schema("t: defineTable(v.union(v.object({ x: v.number() }), v.null()))")
    assert changes(live, target) == [("t.x", "type changed", True, "v.string()", "v.float64()")]
    crowded = schema(
        "t: defineTable(v.union(v.object({ x: v.number() }), v.object({ y: v.number() }), v.null()))"
    )
    found = [(p, k, b) for p, k, b, _, _ in changes(live, crowded)]
    assert ("t", "union member removed", True) in found


def test_tables_added_and_removed() -> None:
    """A table only LIVE has is removed (breaking, with its document); one only TARGET has is added."""
    live = schema("a: defineTable({ x: v.string() }), b: defineTable({ y: v.number() })")
    target = schema("b: defineTable({ y: v.number() }), c: defineTable({ z: v.boolean() })")
    assert changes(live, target) == [
        ("a", "table removed", True, "v.object({x: v.string()})", ""),
        ("c", "table added", False, "", "v.object({z: v.boolean()})"),
    ]


def test_index_changes_are_compatible_and_show_their_fields() -> None:
    """Index removed, added or changed: compatible, named with table, kind and name, with the indexed fields."""
    live = table('a: v.string(), b: v.string()', '.index("by_a", ["a"]).index("by_ab", ["a", "b"])')
    target = table('a: v.string(), b: v.string()', '.index("by_ab", ["b", "a"]).index("by_b", ["b"])')
    assert changes(live, target) == [
        ("t index index by_a", "index removed", False, "a", ""),
        ("t index index by_b", "index added", False, "", "b"),
        ("t index index by_ab", "index changed (rebuilt on push)", False, "a, b", "b, a"),
    ]


def test_schema_options() -> None:
    """Validation turned on is breaking, turned off compatible; strictTableNameTypes is a types-only change."""
    on, off = table("a: v.string()"), table("a: v.string()", "")
    off = schema("t: defineTable({ a: v.string() })", ", { schemaValidation: false }")
    assert changes(off, on) == [
        ("schema", "schema validation turned on: documents written under the live code were never validated", True,
         "schemaValidation: false", "schemaValidation: true"),
    ]  # fmt: skip
    assert changes(on, off) == [
        ("schema", "schema validation turned off", False, "schemaValidation: true", "schemaValidation: false")
    ]
    loose = schema("t: defineTable({ a: v.string() })", ", { strictTableNameTypes: false }")
    assert changes(on, loose) == [
        ("schema", "strictTableNameTypes changed (types only)", False, "true", "false")
    ]
    assert changes(loose, on) == [
        ("schema", "strictTableNameTypes changed (types only)", False, "false", "true")
    ]


def test_breaking_changes_are_harmless_when_target_does_not_validate() -> None:
    """With schemaValidation off in TARGET, document changes are reported but compatible, saying why."""
    live = table("a: v.string()")
    target = schema("t: defineTable({ b: v.string() })", ", { schemaValidation: false }")
    found = changes(live, target)
    assert ("t.a", "field removed (target does not validate t)", False, "v.string()", "") in found
    assert ("t.b", "required field added (target does not validate t)", False, "", "v.string()") in found
    assert not diff_schemas(live, target).is_breaking


def test_compatible_changes_keep_their_kind_when_target_does_not_validate() -> None:
    """A change that is compatible anyway keeps its plain kind under an unvalidated target."""
    live = table("a: v.string()")
    target = schema("t: defineTable({ a: v.string(), b: v.optional(v.string()) })", ", { schemaValidation: false }")
    assert ("t.b", "optional field added", False, "", "v.optional(v.string())") in changes(live, target)


def test_package_table_groups() -> None:
    """Tables spread in from a package: a group only LIVE has is breaking, one only TARGET has is compatible."""
    imports = 'import { authTables } from "@convex-dev/auth/server";\n'
    with_auth = schema("...authTables, t: defineTable({ a: v.string() })", imports=imports)
    without = schema("t: defineTable({ a: v.string() })")
    assert changes(with_auth, without) == [
        ("...authTables", "tables from @convex-dev/auth/server removed", True, "", "")
    ]
    assert changes(without, with_auth) == [
        ("...authTables", "tables from @convex-dev/auth/server added", False, "", "")
    ]
    assert changes(with_auth, with_auth) == []


def test_member_with_two_discriminators_names_both() -> None:
    """A union member told apart by two literal fields is named by both, comma-separated, in the change's path."""
    live = schema(
        't: defineTable(v.union(v.object({ kind: v.literal("a"), version: v.literal(2), x: v.string() }), v.null()))'
    )
    target = schema(
        't: defineTable(v.union(v.object({ kind: v.literal("a"), version: v.literal(2), x: v.number() }), v.null()))'
    )
    assert [c.path for c in diff_schemas(live, target).changes] == ['t<kind="a", version=2>.x']


def test_multi_field_indexes_added_and_removed_list_their_fields() -> None:
    """A removed or added index over several fields lists them comma-separated, in index order."""
    live = table("a: v.string(), b: v.string()", '.index("by_ab", ["a", "b"])')
    target = table("a: v.string(), b: v.string()", '.index("by_ba", ["b", "a"])')
    assert changes(live, target) == [
        ("t index index by_ab", "index removed", False, "a, b", ""),
        ("t index index by_ba", "index added", False, "", "b, a"),
    ]
