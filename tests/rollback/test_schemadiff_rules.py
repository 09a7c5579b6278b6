"""The schema guard's rules in full: every change's path, kind, verdict and both sides, as the rollback report shows them."""

from __future__ import annotations

import dataclasses

import pytest

from deploycheck.rollback.schema import Schema, SchemaChange, SchemaDiff, diff_schemas, parse_schema
from deploycheck.rollback.schema.model import ExternalTables

HEAD = 'import { defineSchema, defineTable } from "convex/server";\nimport { v } from "convex/values";\n'


def schema(tables: str, options: str = "", imports: str = "") -> Schema:
    return parse_schema(f"{HEAD}{imports}export default defineSchema({{ {tables} }}{options});\n")


def table(fields: str, extra: str = "") -> Schema:
    return schema(f"t: defineTable({{ {fields} }}){extra}")


def changes(live: Schema, target: Schema) -> list[tuple[str, str, bool, str, str]]:
    return [(c.path, c.kind, c.breaking, c.live, c.target) for c in diff_schemas(live, target).changes]


def test_change_text_names_both_sides() -> None:
    """A change reads "path: kind (current: ...; target: ...)", a missing side shown as "-", no sides at all omitted."""
    assert str(SchemaChange("t.a", "type changed", True, "v.string()", "v.number()")) == (
        "t.a: type changed (current: v.string(); target: v.number())"
    )
    assert str(SchemaChange("t.a", "field added", True, "v.string()")) == "t.a: field added (current: v.string(); target: -)"
    assert str(SchemaChange("t.b", "field removed", False, "", "v.optional(v.number())")) == (
        "t.b: field removed (current: -; target: v.optional(v.number()))"
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
    """Fields are worded as what the current schema did: a field the target lacks was added (breaking: the
    target's v.object rejects it), one the target requires was removed (breaking), one it has as optional was
    removed (compatible); each names table and field and shows the validators involved."""
    live = table("a: v.string(), b: v.number(), c: v.boolean()")
    target = table("b: v.string(), c: v.boolean(), d: v.optional(v.int64()), e: v.bytes()")
    assert changes(live, target) == [
        ("t.a", "field added", True, "v.string()", ""),
        ("t.d", "field removed (optional in the target)", False, "", "v.optional(v.int64())"),
        ("t.e", "field removed (required in the target)", True, "", "v.bytes()"),
        ("t.b", "type changed", True, "v.float64()", "v.string()"),
    ]


def test_optional_changes_and_the_inner_type() -> None:
    """A field the current schema made optional is breaking (documents may lack it), one it made required is
    compatible; both sides are shown and the inner types are compared too."""
    assert changes(table("a: v.optional(v.string())"), table("a: v.string()")) == [
        ("t.a", "field made optional", True, "v.optional(v.string())", "v.string()")
    ]
    assert changes(table("a: v.string()"), table("a: v.optional(v.string())")) == [
        ("t.a", "field made required", False, "v.string()", "v.optional(v.string())")
    ]
    assert changes(table("a: v.optional(v.string())"), table("a: v.number()")) == [
        ("t.a", "field made optional", True, "v.optional(v.string())", "v.float64()"),
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
        ("t.r{key}", "type widened from v.id to v.string", True, "v.string()", 'v.id("u")'),
        ("t.r{value}", "type changed", True, "v.string()", "v.float64()"),
    ]


@pytest.mark.parametrize(
    ("live", "target", "kind", "breaking"),
    [
        ('v.literal("x")', "v.string()", "type narrowed to a literal", False),
        ("v.literal(true)", "v.boolean()", "type narrowed to a literal", False),
        ("v.literal(false)", "v.boolean()", "type narrowed to a literal", False),
        ("v.literal(3n)", "v.int64()", "type narrowed to a literal", False),
        ("v.literal(3)", "v.float64()", "type narrowed to a literal", False),
        ("v.string()", 'v.literal("x")', "type widened from a literal", True),
        ("v.literal(3)", "v.int64()", "type changed", True),
        ('v.literal("x")', "v.boolean()", "type changed", True),
        ("v.literal(true)", "v.string()", "type changed", True),
        ("v.literal(3n)", "v.float64()", "type changed", True),
        ('v.id("users")', "v.string()", "type narrowed to v.id", False),
        ('v.id("users")', 'v.id("teams")', "id of another table", True),
        ("v.string()", 'v.id("users")', "type widened from v.id to v.string", True),
        ("v.string()", "v.any()", "type narrowed from v.any()", False),
        ("v.any()", "v.string()", "type widened to v.any()", True),
    ],
)
def test_scalar_widening_rules(live: str, target: str, kind: str, breaking: bool) -> None:
    """The target accepts the current literal only as its own base type, an id only as a string, anything as
    v.any(); the reverse (the current schema widened the type) is breaking."""
    assert changes(table(f"a: {live}"), table(f"a: {target}")) == [
        ("t.a", kind, breaking, parse_schema(f"{HEAD}export default defineSchema({{ t: defineTable({{ a: {live} }}) }});")
         .tables["t"].document.field_map()["a"].describe(),
         table(f"a: {target}").tables["t"].document.field_map()["a"].describe())
    ]  # fmt: skip


def test_unknown_validator_cannot_be_compared() -> None:
    """A validator the guard cannot read, on either side, is a breaking "validator not readable" change."""
    found = changes(table("a: custom(1)"), table("a: v.string()"))
    assert found == [("t.a", "validator not readable", True, "<unreadable: custom(1)>", "v.string()")]
    found = changes(table("a: v.string()"), table("a: custom(2)"))
    assert [(p, k, b) for p, k, b, _, _ in found] == [("t.a", "validator not readable", True)]


def test_union_rules() -> None:
    """A member only CURRENT has was added (breaking); one only TARGET has was removed (compatible); a scalar the
    target's union accepts is a compatible narrowing."""
    assert changes(table("a: v.union(v.string(), v.null())"), table("a: v.string()")) == [
        ("t.a", "union member added", True, "v.null()", "v.string()")
    ]
    assert changes(table("a: v.string()"), table("a: v.union(v.string(), v.null())")) == [
        ("t.a", "type narrowed from a union", False, "v.string()", "v.union(v.null(), v.string())")
    ]
    assert changes(table("a: v.union(v.string(), v.null())"), table("a: v.union(v.string(), v.null(), v.number())")) == [
        ("t.a", "union member removed", False, "", "v.float64()")
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
    """A discriminated member the current schema dropped is compatible; one it added is breaking."""
    one = schema(f"t: defineTable(v.union({DOC_A}, v.null()))")
    two = schema(f"t: defineTable(v.union({DOC_A}, {DOC_B}, v.null()))")
    assert [(p, k, b) for p, k, b, _, _ in changes(one, two)] == [("t", "union member removed", False)]
    assert [(p, k, b) for p, k, b, _, _ in changes(two, one)] == [("t", "union member added", True)]


def test_objects_without_discriminator_pair_only_when_alone() -> None:
    """Two object members with no literal fields cannot be paired: an unmatched current member is an addition."""
    live = schema("t: defineTable(v.union(v.object({ x: v.string() }), v.null()))")
    target = schema("t: defineTable(v.union(v.object({ x: v.number() }), v.null()))")
    assert changes(live, target) == [("t.x", "type changed", True, "v.string()", "v.float64()")]
    crowded = schema(
        "t: defineTable(v.union(v.object({ x: v.number() }), v.object({ y: v.number() }), v.null()))"
    )
    found = [(p, k, b) for p, k, b, _, _ in changes(live, crowded)]
    assert ("t", "union member added", True) in found


def test_tables_added_and_removed() -> None:
    """A table only CURRENT has was added: compatible (the target does not validate unlisted tables); one only
    TARGET has was removed: breaking, as nothing validated its documents under the current schema."""
    live = schema("a: defineTable({ x: v.string() }), b: defineTable({ y: v.number() })")
    target = schema("b: defineTable({ y: v.number() }), c: defineTable({ z: v.boolean() })")
    assert changes(live, target) == [
        ("a", "table added", False, "v.object({x: v.string()})", ""),
        ("c", "table removed", True, "", "v.object({z: v.boolean()})"),
    ]


def test_index_changes_are_compatible_and_show_their_fields() -> None:
    """Index removed, added or changed: compatible, named with table, kind and name, with the indexed fields."""
    live = table('a: v.string(), b: v.string()', '.index("by_a", ["a"]).index("by_ab", ["a", "b"])')
    target = table('a: v.string(), b: v.string()', '.index("by_ab", ["b", "a"]).index("by_b", ["b"])')
    assert changes(live, target) == [
        ("t index index by_a", "index added", False, "a", ""),
        ("t index index by_b", "index removed", False, "", "b"),
        ("t index index by_ab", "index changed", False, "a, b", "b, a"),
    ]


def test_schema_options() -> None:
    """Validation the current schema turned off is breaking (its documents were never validated), turned on is
    compatible; strictTableNameTypes alone is a compatible change."""
    on = table("a: v.string()")
    off = schema("t: defineTable({ a: v.string() })", ", { schemaValidation: false }")
    assert changes(off, on) == [
        ("schema", "schema validation turned off", True, "schemaValidation: false", "schemaValidation: true"),
    ]
    assert changes(on, off) == [
        ("schema", "schema validation turned on", False, "schemaValidation: true", "schemaValidation: false")
    ]
    loose = schema("t: defineTable({ a: v.string() })", ", { strictTableNameTypes: false }")
    assert changes(on, loose) == [("schema", "strictTableNameTypes changed", False, "true", "false")]
    assert changes(loose, on) == [("schema", "strictTableNameTypes changed", False, "false", "true")]


def test_breaking_changes_are_harmless_when_target_does_not_validate() -> None:
    """With schemaValidation off in TARGET, document changes are reported but compatible, saying why."""
    live = table("a: v.string()")
    target = schema("t: defineTable({ b: v.string() })", ", { schemaValidation: false }")
    found = diff_schemas(live, target).changes
    assert [(c.path, c.kind, c.breaking, c.live, c.target) for c in found] == [
        ("schema", "schema validation turned on", False, "schemaValidation: true", "schemaValidation: false"),
        ("t.a", "field added", False, "v.string()", ""),
        ("t.b", "field removed (required in the target)", False, "", "v.string()"),
    ]
    assert all(c.reason.startswith("the target does not validate documents") for c in found)
    assert not diff_schemas(live, target).is_breaking


def test_compatible_changes_keep_their_kind_when_target_does_not_validate() -> None:
    """A change that is compatible anyway keeps its plain kind under an unvalidated target."""
    live = table("a: v.string()")
    target = schema("t: defineTable({ a: v.string(), b: v.optional(v.string()) })", ", { schemaValidation: false }")
    assert ("t.b", "field removed (optional in the target)", False, "", "v.optional(v.string())") in changes(
        live, target
    )


def test_package_table_groups() -> None:
    """Tables spread in from a package the static parser does not read are breaking whichever side has them,
    and even on both sides while the package's version at each ref is unknown (not provably identical)."""
    imports = 'import { authTables } from "@convex-dev/auth/server";\n'
    with_auth = schema("...authTables, t: defineTable({ a: v.string() })", imports=imports)
    without = schema("t: defineTable({ a: v.string() })")
    unknown = "@convex-dev/auth/server@(version unknown)"
    assert changes(with_auth, without) == [("...authTables", "package tables added", True, unknown, "")]
    assert changes(without, with_auth) == [("...authTables", "package tables removed", True, "", unknown)]
    assert changes(with_auth, with_auth) == [("...authTables", "package tables not readable", True, unknown, unknown)]


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
        ("t index index by_ab", "index added", False, "a, b", ""),
        ("t index index by_ba", "index removed", False, "", "b, a"),
    ]


UNREADABLE = (
    "cannot compare: call of `custom` from nowhere (not defined or imported): the static parser does not read it "
    "at schema.ts:3"
)


@pytest.mark.parametrize(
    ("live", "target", "expected"),
    [
        ("a: v.string(), b: v.optional(v.string())", "c: v.string(), b: v.string(), d: v.optional(v.string())", [
            ("t.a", "field added", "the target's object validator does not list it, and Convex objects reject "
             "fields they do not list"),
            ("t.c", "field removed (required in the target)", "documents written without it fail the target"),
            ("t.d", "field removed (optional in the target)", "documents without it are valid in the target"),
            ("t.b", "field made optional", "the target requires it, and documents may lack it"),
        ]),
        ('a: v.id("u")', 'a: v.id("t")', [("t.a", "id of another table", 'the target accepts only ids of table "t"')]),
        ('a: v.id("u")', "a: v.string()", [("t.a", "type narrowed to v.id", "an id is a string")]),
        ('a: v.literal("a")', 'a: v.literal("b")', [("t.a", "literal changed", 'the target accepts only "b"')]),
        ("a: v.string()", "a: v.union(v.string(), v.null())",
         [("t.a", "type narrowed from a union", "a member of the target's union accepts it")]),
        ("a: v.union(v.string(), v.null())", "a: v.string()",
         [("t.a", "union member added", "no member of the target accepts it")]),
        ("a: v.union(v.string(), v.null())", "a: v.union(v.string(), v.null(), v.number())",
         [("t.a", "union member removed", "the target accepts more")]),
        ('a: v.union(v.literal("a"), v.null())', "a: v.union(v.string(), v.null())",
         [("t.a", "type narrowed to a literal", "the target's v.string() accepts the literal")]),
        ("a: v.union(v.string(), custom(1))", "a: v.string()", [("t.a", "validator not readable", UNREADABLE)]),
        ("a: v.object({ x: custom(1) })", "a: v.string()", [("t.a", "validator not readable", UNREADABLE)]),
        ("a: v.string()", "a: v.object({ x: custom(1) })", [("t.a", "validator not readable", UNREADABLE)]),
        ('a: v.string()', 'a: v.string()', []),
    ],
)  # fmt: skip
def test_each_verdict_says_why(live: str, target: str, expected: list[tuple[str, str, str]]) -> None:
    """Every change carries the reason the report prints with it: why the target accepts or rejects it, and
    for what the static parser cannot read, what it is and where (file:line)."""
    found = [(c.path, c.kind, c.reason) for c in diff_schemas(table(live), table(target)).changes]
    assert found == expected


def test_union_with_an_unreadable_member_is_compared_member_by_member() -> None:
    """A union holding a validator the parser cannot read is still compared member by member: the unreadable
    member is refused as not readable (breaking), and the members only the target has are reported as removed."""
    found = changes(table("a: v.union(v.string(), custom(1))"), table("a: v.union(v.string(), v.null(), custom(1))"))
    assert [(p, k, b) for p, k, b, _, _ in found] == [
        ("t.a", "validator not readable", True),
        ("t.a", "union member removed", False),
        ("t.a", "union member removed", False),
    ]


def test_index_and_schema_option_reasons() -> None:
    """Index changes say indexes do not constrain documents; validation the current schema turned off says why it breaks."""
    why = "indexes do not constrain documents; Convex builds them on push"
    live, target = table("a: v.string()", '.index("i", ["a"])'), table("a: v.string()", '.index("j", ["a"])')
    assert [c.reason for c in diff_schemas(live, target).changes] == [why, why]
    off = schema("t: defineTable({ a: v.string() })", ", { schemaValidation: false }")
    assert [c.reason for c in diff_schemas(off, table("a: v.string()")).changes] == [
        "documents written under the current schema were never validated; the target validates them"
    ]


AUTH = 'import { authTables } from "@convex-dev/auth/server";\n'


def test_table_the_current_schema_does_not_list_breaks_whatever_strict_table_name_types_says() -> None:
    """A table only the target validates is breaking with strictTableNameTypes on or off (a TypeScript-only
    option: nothing validated the table under the current schema), with its own reason when package tables
    may hide it; compatible only when the target does not validate it (v.any(), schemaValidation: false)."""
    unlisted = (
        "the current schema does not list it, so Convex has not validated its documents since the current code "
        "was pushed (strictTableNameTypes changes TypeScript types only): an earlier version, the dashboard or "
        "untyped code may have written documents the target rejects"
    )
    two = schema("t: defineTable({ a: v.string() }), u: defineTable({ b: v.string() })")
    strict = diff_schemas(schema("t: defineTable({ a: v.string() })"), two).changes
    assert [(c.path, c.kind, c.breaking, c.reason) for c in strict] == [("u", "table removed", True, unlisted)]
    loose = diff_schemas(schema("t: defineTable({ a: v.string() })", ", { strictTableNameTypes: false }"), two)
    assert [(c.path, c.breaking, c.reason) for c in loose.changes if c.path == "u"] == [("u", True, unlisted)]
    spread = diff_schemas(schema("...authTables, t: defineTable({ a: v.string() })", imports=AUTH), two)
    assert [(c.path, c.breaking, c.reason) for c in spread.changes if c.path == "u"] == [
        ("u", True, "the current schema spreads in package tables the static parser does not read, and one of "
         "them may be this table"),
    ]  # fmt: skip
    anything = schema("t: defineTable({ a: v.string() }), u: defineTable(v.any())")
    free = diff_schemas(schema("t: defineTable({ a: v.string() })"), anything).changes
    assert [(c.path, c.breaking, c.reason) for c in free] == [("u", False, "the target does not validate it")]
    off = schema("t: defineTable({ a: v.string() }), u: defineTable({ b: v.string() })", ", { schemaValidation: false }")
    assert not diff_schemas(schema("t: defineTable({ a: v.string() })"), off).is_breaking


def test_package_table_group_reasons_and_pinned_versions() -> None:
    """A package group says why it cannot be judged, with the spread's file:line; the same package at the same
    pinned version at both refs is unchanged, and that does not stop the groups after it from being compared."""
    with_auth = schema("...authTables, t: defineTable({ a: v.string() })", imports=AUTH)
    without = schema("t: defineTable({ a: v.string() })")
    assert [c.reason for c in diff_schemas(without, with_auth).changes] == [
        "the target validates tables from @convex-dev/auth/server that the current schema does not list; the "
        "static parser does not read their validators at schema.ts:4"
    ]
    assert [c.reason for c in diff_schemas(with_auth, with_auth).changes] == [
        "the package's version is not pinned by a lockfile at both refs, so its tables cannot be shown to be "
        "unchanged at schema.ts:4"
    ]
    pinned = ExternalTables("authTables", "@convex-dev/auth/server", "0.0.80", "schema.ts:4")
    bumped = ExternalTables("authTables", "@convex-dev/auth/server", "0.0.81", "schema.ts:4")
    other = ExternalTables("rateLimitTables", "@convex-dev/rate-limiter")  # no file:line known
    before = dataclasses.replace(without, externals=(pinned, other))
    same = dataclasses.replace(without, externals=(pinned, other))
    found = diff_schemas(before, same).changes
    assert [(c.path, c.kind, c.reason) for c in found] == [
        ("...rateLimitTables", "package tables not readable", "the package's version is not pinned by a lockfile "
         "at both refs, so its tables cannot be shown to be unchanged"),
    ]  # fmt: skip
    changed = diff_schemas(before, dataclasses.replace(without, externals=(bumped, other))).changes
    assert (changed[0].path, changed[0].reason) == (
        "...authTables", "the package changed, and the static parser does not read its tables at schema.ts:4"
    )


def test_unreadable_union_member_names_itself_first() -> None:
    """When a current union member and a target member are both unreadable, the refusal names the current
    member (the one being judged), not the target's."""
    found = diff_schemas(table("a: v.union(v.string(), custom(1))"), table("a: v.union(v.string(), other(2))")).changes
    assert [(c.kind, c.reason.split(" from nowhere")[0]) for c in found if c.breaking] == [
        ("validator not readable", "cannot compare: call of `custom`")
    ]


def test_optional_inside_an_array_is_compared_whole() -> None:
    """An optional where a field is not (inside an array) is compared as a whole validator: any change to it is
    a breaking "type changed" at the element's path."""
    found = changes(table("a: v.array(v.optional(v.string()))"), table("a: v.array(v.optional(v.number()))"))
    assert [(p, k, b) for p, k, b, _, _ in found] == [("t.a[]", "type changed", True)]
    assert diff_schemas(table("a: v.array(v.optional(v.string()))"), table("a: v.array(v.optional(v.number()))")).is_breaking
