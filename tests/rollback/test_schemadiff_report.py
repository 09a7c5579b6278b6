"""The schema guard's report, line by line: each change as the rollback prints it.

The rollback prints every difference as ``BREAKING  <change>`` or ``ok        <change>``,
the change reading ``path: kind (current: ...; target: ...) - reason``. These tables pin
the whole line (verdict, path, kind, both sides and the reason a user acts on) for each
rule of the rollback-direction diff, including the ones reached only through nested,
union, table-level and package-group cases.
"""

from __future__ import annotations

import dataclasses

import pytest

from deploycheck.rollback.schema import Schema, diff_schemas, parse_schema
from deploycheck.rollback.schema.evaluate import validator_from_json
from deploycheck.rollback.schema.model import ExternalTables, Table, Validator

HEAD = 'import { defineSchema, defineTable } from "convex/server";\nimport { v } from "convex/values";\n'
AUTH = 'import { authTables } from "@convex-dev/auth/server";\n'
REJECTS = "the target rejects documents the current schema accepts"
#: the static parser's refusal of ``custom(1)`` written on the line of the table (line 3)
CUSTOM = (
    "cannot compare: call of `custom` from nowhere (not defined or imported): the static parser does not read it "
    "at schema.ts:3"
)


def schema(tables: str, options: str = "", imports: str = "") -> Schema:
    return parse_schema(f"{HEAD}{imports}export default defineSchema({{ {tables} }}{options});\n")


def table(fields: str, extra: str = "") -> Schema:
    return schema(f"t: defineTable({{ {fields} }}){extra}")


def report(live: Schema, target: Schema) -> list[str]:
    """The lines the rollback prints for the diff, in the diff's order."""
    return [f"{'BREAKING' if c.breaking else 'ok':<8}  {c}" for c in diff_schemas(live, target).changes]


FIELD_CASES = {
    "narrowed from v.any()": ("a: v.string()", "a: v.any()", [
        "ok        t.a: type narrowed from v.any() (current: v.string(); target: v.any()) - the target accepts any value",
    ]),
    "widened to v.any()": ("a: v.any()", "a: v.string()", [
        f"BREAKING  t.a: type widened to v.any() (current: v.any(); target: v.string()) - {REJECTS}",
    ]),
    "widened from a literal": ("a: v.string()", 'a: v.literal("x")', [
        'BREAKING  t.a: type widened from a literal (current: v.string(); target: v.literal("x")) - the target '
        'accepts only "x"',
    ]),
    "widened from an id": ("a: v.string()", 'a: v.id("users")', [
        'BREAKING  t.a: type widened from v.id to v.string (current: v.string(); target: v.id("users")) - the '
        'target accepts only ids of table "users"',
    ]),
    "unrelated types": ("a: v.bytes()", "a: v.boolean()", [
        f"BREAKING  t.a: type changed (current: v.bytes(); target: v.boolean()) - {REJECTS}",
    ]),
    "made required": ("a: v.string()", "a: v.optional(v.string())", [
        "ok        t.a: field made required (current: v.string(); target: v.optional(v.string())) - the target has "
        "it optional",
    ]),
    "literal changed": ('a: v.literal("a")', 'a: v.literal("b")', [
        'BREAKING  t.a: literal changed (current: v.literal("a"); target: v.literal("b")) - the target accepts '
        'only "b"',
    ]),
    "scalar outside the target's union": ("a: v.boolean()", "a: v.union(v.string(), v.null())", [
        "BREAKING  t.a: type changed (current: v.boolean(); target: v.union(v.null(), v.string())) - no member "
        "of the target's union accepts it",
    ]),
    "unreadable array element": ("a: v.array(custom(1))", "a: v.array(v.string())", [
        f"BREAKING  t.a[]: validator not readable (current: <unreadable: custom(1)>; target: v.string()) - {CUSTOM}",
    ]),
    "unreadable record value": ("a: v.record(v.string(), custom(1))", "a: v.record(v.string(), v.string())", [
        "BREAKING  t.a{value}: validator not readable (current: <unreadable: custom(1)>; target: v.string()) - "
        f"{CUSTOM}",
    ]),
    "unreadable union member, then an added one": (
        "a: v.union(custom(1), v.number(), v.string())", "a: v.union(v.string(), v.null())", [
            "BREAKING  t.a: validator not readable (current: <unreadable: custom(1)>; target: "
            f"v.union(v.null(), v.string())) - {CUSTOM}",
            "BREAKING  t.a: union member added (current: v.float64(); target: v.union(v.null(), v.string())) - no "
            "member of the target accepts it",
            "ok        t.a: union member removed (current: -; target: v.null()) - the target accepts more",
        ]),
}  # fmt: skip


@pytest.mark.parametrize(("live", "target", "expected"), FIELD_CASES.values(), ids=FIELD_CASES.keys())
def test_field_change_lines(live: str, target: str, expected: list[str]) -> None:
    """Each field-level rule prints its verdict, the field's path (into arrays, records and unions), both
    validators and the reason; an unreadable validator is refused where it sits, and the members after it are
    still judged."""
    assert report(table(live), table(target)) == expected


UNVALIDATED = ", { schemaValidation: false }"
LOOSE = ", { strictTableNameTypes: false }"
TURNED_ON = (
    "ok        schema: schema validation turned on (current: schemaValidation: true; target: schemaValidation: false)"
    " - the target does not validate documents"
)

SCHEMA_CASES = {
    "strictTableNameTypes": (
        schema("t: defineTable({ a: v.string() })"), schema("t: defineTable({ a: v.string() })", LOOSE), [
            "ok        schema: strictTableNameTypes changed (current: true; target: false) - TypeScript types only",
        ]),
    "table the target does not list": (
        schema("a: defineTable({ x: v.string() }), t: defineTable({ a: v.string() })"),
        schema("t: defineTable({ a: v.string() })"), [
            "ok        a: table added (current: v.object({x: v.string()}); target: -) - the target does not list "
            "it, and Convex validates only listed tables: its documents stay, unvalidated",
        ]),
    "table only an unvalidated target lists": (
        schema("t: defineTable({ a: v.string() })"),
        schema("t: defineTable({ a: v.string() }), u: defineTable({ b: v.string() })", UNVALIDATED), [
            TURNED_ON,
            "ok        u: table removed (current: -; target: v.object({b: v.string()})) - the target does not "
            "validate it",
        ]),
    "v.any() table only the target lists": (
        schema("t: defineTable({ a: v.string() })", LOOSE),
        schema("t: defineTable({ a: v.string() }), u: defineTable(v.any())", LOOSE), [
            "ok        u: table removed (current: -; target: v.any()) - the target does not validate it",
        ]),
    "breaking change under an unvalidated target": (
        table("a: v.string()"), schema("t: defineTable({ a: v.number() })", UNVALIDATED), [
            TURNED_ON,
            "ok        t.a: type changed (current: v.string(); target: v.float64()) - the target does not validate "
            "documents (schemaValidation: false)",
        ]),
    "index changed": (
        table("a: v.string(), b: v.string()", '.index("i", ["a"])'),
        table("a: v.string(), b: v.string()", '.index("i", ["a", "b"])'), [
            "ok        t index index i: index changed (current: a; target: a, b) - indexes do not constrain "
            "documents; Convex builds them on push",
        ]),
    "package tables the target does not spread": (
        schema("...authTables, t: defineTable({ a: v.string() })", imports=AUTH),
        schema("t: defineTable({ a: v.string() })"), [
            "BREAKING  ...authTables: package tables added (current: @convex-dev/auth/server@(version unknown); "
            "target: -) - the tables it defines are not read from @convex-dev/auth/server; the target may list "
            "some of them with other validators at schema.ts:4",
        ]),
}  # fmt: skip


@pytest.mark.parametrize(("live", "target", "expected"), SCHEMA_CASES.values(), ids=SCHEMA_CASES.keys())
def test_schema_and_table_lines(live: Schema, target: Schema, expected: list[str]) -> None:
    """Schema options, tables only one side lists, index changes and package groups print their verdict and
    why: a table an unvalidated target (or a v.any() table) holds is compatible whatever the current schema
    allowed, and a breaking document change under an unvalidated target says the target does not validate."""
    assert report(live, target) == expected


BARE = schema("t: defineTable({ a: v.string() })")


def _with(*groups: ExternalTables) -> Schema:
    return dataclasses.replace(BARE, externals=groups)


@pytest.mark.parametrize(
    ("live", "target", "expected"),
    [
        pytest.param(
            ExternalTables("authTables", "@convex-dev/auth/server", "0.0.80", "schema.ts:4"),
            ExternalTables("authTables", "@convex-dev/auth/server", "", "schema.ts:4"),
            "BREAKING  ...authTables: package tables not readable (current: @convex-dev/auth/server@0.0.80; target: "
            "@convex-dev/auth/server@(version unknown)) - the package's version is not pinned by a lockfile at "
            "both refs, so its tables cannot be shown to be unchanged at schema.ts:4",
            id="pinned at one ref only",
        ),
        pytest.param(
            ExternalTables("authTables", "@convex-dev/auth/server", "0.0.80", "schema.ts:4"),
            ExternalTables("authTables", "@example/auth", "0.0.80", "schema.ts:4"),
            "BREAKING  ...authTables: package tables not readable (current: @convex-dev/auth/server@0.0.80; target: "
            "@example/auth@0.0.80) - the package changed, and the static parser does not read its tables at "
            "schema.ts:4",
            id="same version of another package",
        ),
    ],
)  # fmt: skip
def test_package_group_lines(live: ExternalTables, target: ExternalTables, expected: str) -> None:
    """A package group is unchanged only as the same package at the same pinned version: a version pinned at
    one ref only, or the same version number of a different package, is breaking and says which."""
    assert report(_with(live), _with(target)) == [expected]


def _field_table(validator: Validator) -> Schema:
    return Schema({"t": Table("t", Validator("object", fields=(("a", validator),)))})


@pytest.mark.parametrize(
    ("live", "target", "expected"),
    [
        pytest.param(
            validator_from_json({"type": "vector"}), Validator("string"),
            "BREAKING  t.a: validator not readable (current: <unreadable: {\"type\": \"vector\"}>; target: "
            "v.string()) - cannot compare: validator type 'vector' is not modelled",
            id="export() type without a place",
        ),
        pytest.param(
            Validator("unknown", text="x"), Validator("string"),
            "BREAKING  t.a: validator not readable (current: <unreadable: x>; target: v.string()) - cannot compare: "
            "not a validator the static parser reads",
            id="unknown without a reason",
        ),
        pytest.param(
            Validator("array", items=(Validator("optional", items=(Validator("string"),)),)),
            Validator("array", items=(Validator("optional", items=(Validator("float64"),)),)),
            f"BREAKING  t.a[]: type changed (current: v.optional(v.string()); target: v.optional(v.float64())) - "
            f"{REJECTS}",
            id="optional outside a field",
        ),
    ],
)  # fmt: skip
def test_validators_from_other_readers(live: Validator, target: Validator, expected: str) -> None:
    """Validators from the export() reader, or shapes the static parser never makes, are still judged: an
    unreadable one says why without inventing a place (or, with no reason given, that it is not a validator
    the parser reads), and an optional outside an object field that differs is breaking, never compatible."""
    assert report(_field_table(live), _field_table(target)) == [expected]


def test_union_member_is_judged_against_the_member_it_evolved_from() -> None:
    """A changed union member is compared with the target member that shares its discriminator, even when
    another target member (sorted before it) also accepts it; a member the target also has is left alone."""
    live = table('a: v.union(v.object({ kind: v.literal("a"), x: v.string() }), v.null())')
    target = table(
        'a: v.union(v.object({ kind: v.literal("a"), x: v.string(), y: v.optional(v.string()) }), '
        "v.object({ a: v.optional(v.string()), kind: v.string(), x: v.string() }), v.null())"
    )
    assert [line for line in report(live, target) if "t.a<" in line or "t.a." in line] == [
        'ok        t.a<kind="a">.y: field removed (optional in the target) (current: -; target: '
        "v.optional(v.string())) - documents without it are valid in the target",
    ]
    same = table("a: v.union(v.object({ x: v.string() }), v.null())")
    wider = table(
        "a: v.union(v.object({ x: v.string() }), v.object({ a: v.optional(v.string()), x: v.string() }), v.null())"
    )
    assert [line for line in report(same, wider) if "t.a." in line] == []
    assert not diff_schemas(same, wider).is_breaking
