"""The Convex schema parser: real-world constructs, normalisation, and clear parse errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploycheck.rollback.schema import Validator, parse_schema
from deploycheck.rollback.schema.read import ParseError
from deploycheck.rollback.schema.ts import tokenize

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "convex-schemas"
SCHEMAS = [*sorted(p for p in FIXTURES.glob("*.ts")), FIXTURES / "multi-file" / "schema.ts"]


def load(path: Path):
    """Parse a fixture schema, following its relative imports inside the fixture folder."""
    base = path.parent

    def read(name: str) -> str | None:
        candidate = base / name
        return candidate.read_text() if candidate.is_file() else None

    return parse_schema(path.read_text(), path.name, read)


def test_there_are_at_least_eight_realistic_fixtures() -> None:
    """The fixture corpus holds at least eight schema files in different styles."""
    assert len(SCHEMAS) >= 8


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: p.parent.name + "/" + p.name)
def test_every_fixture_parses_without_unknown_validators(path: Path) -> None:
    """Every fixture parses into tables whose validators are all understood."""
    schema = load(path)
    assert schema.tables
    for table in schema.tables.values():
        assert "unknown" not in repr(table.document), table.name


def test_chat_app_fields_indexes_and_search_index() -> None:
    """Fields, optional fields, ids, nested arrays of objects and both index kinds are read."""
    schema = load(FIXTURES / "chat-app.ts")
    messages = schema.tables["messages"]
    fields = messages.document.field_map()
    assert fields["channel"] == Validator("id", table="channels")
    assert fields["editedAt"] == Validator("optional", items=(Validator("float64"),))
    reactions = fields["reactions"]
    assert reactions.kind == "array" and reactions.items[0].field_map()["users"].items[0].table == "users"
    kinds = {(i.name, i.kind, i.fields) for i in messages.indexes}
    assert ("search_body", "search", ("body", "channel", "author")) in kinds
    assert ("by_channel", "index", ("channel",)) in kinds


def test_shared_validators_spreads_and_options() -> None:
    """Consts reused as validators, spread field groups and both defineSchema options are applied."""
    schema = load(FIXTURES / "shared-validators.ts")
    tasks = schema.tables["tasks"].document.field_map()
    assert {"createdAt", "updatedAt", "ownerId", "teamId", "status", "priority"} <= tasks.keys()
    assert tasks["status"].kind == "union" and len(tasks["status"].items) == 4
    assert tasks["priority"].items[0] == Validator("literal", value="1")
    assert schema.schema_validation is True
    assert schema.strict_table_name_types is False


def test_discriminated_union_table_with_fields_spread() -> None:
    """A table defined by a union of objects, each spreading ``common.fields``, keeps every variant."""
    schema = load(FIXTURES / "discriminated-unions.ts")
    posts = schema.tables["posts"].document
    assert posts.kind == "union"
    kinds = sorted(m.field_map()["kind"].value for m in posts.items)
    assert kinds == ['"image"', '"link"', '"text"']
    assert all("authorId" in m.field_map() for m in posts.items)
    link = next(m for m in posts.items if m.field_map()["kind"].value == '"link"')
    assert link.field_map()["preview"].kind == "union"  # v.nullable(x) is x | null


def test_auth_tables_spread_is_kept_as_an_external_group() -> None:
    """``...authTables`` from the auth package is recorded as a group of tables from that package."""
    schema = load(FIXTURES / "saas-auth.ts")
    assert [(g.name, g.module) for g in schema.externals] == [("authTables", "@convex-dev/auth/server")]
    assert schema.tables["plans"].document.field_map()["prices"].kind == "object"


def test_vector_index_records_dimensions_and_filters() -> None:
    """A vector index keeps its field, filter fields and dimensions."""
    schema = load(FIXTURES / "vector-search.ts")
    index = next(i for i in schema.tables["chunks"].indexes if i.kind == "vector")
    assert index.fields == ("embedding", "namespace", "sourceId")
    assert dict(index.options) == {"dimensions": "1536"}


def test_tables_object_casts_literals_and_no_semicolons() -> None:
    """Exported table objects, ``as``/``satisfies`` casts and boolean, bigint and negative literals parse."""
    schema = load(FIXTURES / "tables-object.ts")
    notes = schema.tables["notes"].document.field_map()
    assert notes["content"] == Validator("any")
    assert notes["pinned"].value == "true"
    assert notes["version"].value == "3n"
    assert notes["score"].value == "-1.5"
    assert set(schema.tables) == {"notes", "checklistItems", "settings"}


def test_relative_imports_across_files_are_followed() -> None:
    """Tables and validators imported from other files of the Convex folder are resolved."""
    schema = load(FIXTURES / "multi-file" / "schema.ts")
    assert set(schema.tables) == {"worlds", "obstacles", "players"}
    position = schema.tables["players"].document.field_map()["position"]
    assert position.field_map() == {"x": Validator("float64"), "y": Validator("float64")}


def test_number_and_bigint_aliases_normalise() -> None:
    """``v.number()`` equals ``v.float64()`` and ``v.bigint()`` equals ``v.int64()``."""
    text = """
    import { defineSchema, defineTable } from "convex/server";
    import { v } from "convex/values";
    export default defineSchema({ t: defineTable({ a: v.number(), b: v.bigint(), c: v.float64(), d: v.int64() }) });
    """
    fields = parse_schema(text).tables["t"].document.field_map()
    assert fields["a"] == fields["c"] == Validator("float64")
    assert fields["b"] == fields["d"] == Validator("int64")


def test_unknown_helper_becomes_an_unknown_validator_with_its_source() -> None:
    """A validator built by an unknown function is kept as its source text, not dropped."""
    text = """
    import { defineSchema, defineTable } from "convex/server";
    import { literalUnion } from "./helpers";
    export default defineSchema({ t: defineTable({ kind: literalUnion(KINDS) }) });
    """
    kind = parse_schema(text).tables["t"].document.field_map()["kind"]
    assert kind.kind == "unknown" and "literalUnion(KINDS)" in kind.text


def test_missing_default_export_is_a_parse_error() -> None:
    """A file without ``export default defineSchema(...)`` is refused with a clear message."""
    with pytest.raises(ParseError, match="no `export default defineSchema"):
        parse_schema('import { v } from "convex/values";\nexport const x = v.string();\n')


def test_syntax_error_names_line_and_column() -> None:
    """A broken expression is reported with its line and column."""
    text = 'import { defineSchema } from "convex/server";\n\nexport default defineSchema({ a: ) });\n'
    with pytest.raises(ParseError) as info:
        parse_schema(text, "convex/schema.ts")
    assert info.value.line == 3
    assert str(info.value).startswith("convex/schema.ts:3:")


def test_tokenizer_skips_comments_and_reads_escapes() -> None:
    """Comments vanish and string escapes are decoded."""
    tokens = tokenize('// c\n/* block\n */ "a\\"b" \'\\u0041\' `t`')
    assert [t.value for t in tokens] == ['a"b', "A", "t"]
    assert tokens[0].line == 3


HEADER = 'import { defineSchema, defineTable } from "convex/server";\nimport { v } from "convex/values";\n'


def test_regex_literals_with_quotes_and_escaped_slashes_are_tokenized() -> None:
    """Regular expression literals are tokens of their own, told apart from division."""
    tokens = tokenize(r"""const A = /^["'\/]+[/]$/gi; const B = x / 2 / y; f(/a`b/)""")
    assert [t.text for t in tokens if t.kind == "regex"] == [r"""/^["'\/]+[/]$/gi""", "/a`b/"]
    assert sum(1 for t in tokens if t.text == "/") == 2


def test_computed_keys_are_evaluated_from_constants() -> None:
    """``[CURRENCIES.USD]: v.number()`` becomes the field ``usd``."""
    text = HEADER + ('const CURRENCIES = { USD: "usd" } as const;\nconst EUR = "eur";\n'
                     "export default defineSchema({ t: defineTable({ [CURRENCIES.USD]: v.number(), "
                     "[EUR]: v.optional(v.number()) }) });\n")
    fields = parse_schema(text).tables["t"].document.field_map()
    assert fields["usd"] == Validator("float64") and fields["eur"].is_optional


def test_a_js_import_suffix_finds_the_ts_file_on_disk() -> None:
    """``./validators.js`` resolves to ``validators.ts``, as TypeScript's module resolution does."""
    files = {"convex/validators.ts": 'import { v } from "convex/values";\nexport const status = v.string();\n'}
    text = HEADER + 'import { status } from "./validators.js";\nexport default defineSchema({ t: defineTable({ status }) });\n'
    schema = parse_schema(text, "convex/schema.ts", files.get)
    assert schema.tables["t"].document.field_map()["status"] == Validator("string")


def test_an_unresolved_local_import_is_unreadable_with_its_position() -> None:
    """A relative import with no file behind it is refused with the import's file:line, never guessed."""
    text = HEADER + 'import { status } from "./missing";\nexport default defineSchema({ t: defineTable({ status }) });\n'
    status = parse_schema(text, "convex/schema.ts", {}.get).tables["t"].document.field_map()["status"]
    assert status.kind == "unknown" and status.where == "convex/schema.ts:3"
    assert "'./missing' not found" in status.reason


def test_one_expression_functions_and_convex_helpers_table_are_applied() -> None:
    """A local helper function and ``Table()`` are evaluated, so a field added inside them is seen."""
    text = HEADER + ('import { Table } from "convex-helpers/server";\n'
                     "const stamped = (fields) => ({ ...fields, at: v.number() });\n"
                     'const Worlds = Table("worlds", stamped({ name: v.string() }));\n'
                     "export default defineSchema({ worlds: Worlds.table.index(\"by_name\", [\"name\"]) });\n")
    worlds = parse_schema(text).tables["worlds"]
    assert set(worlds.document.field_map()) == {"name", "at"}
    assert [i.name for i in worlds.indexes] == ["by_name"]


def test_a_binding_that_does_not_parse_keeps_its_parse_error() -> None:
    """Valid TypeScript the parser cannot read (a getter) yields an unknown carrying the parse error."""
    text = HEADER + ("const fields = { name: v.string(), get at() { return v.number(); } };\n"
                     "export default defineSchema({ t: defineTable(v.object(fields)) });\n")
    document = parse_schema(text, "convex/schema.ts").tables["t"].document
    assert document.kind == "unknown" and document.reason.startswith("parse error: convex/schema.ts:3:")


def test_unknown_validators_are_compared_by_full_source_never_a_snippet() -> None:
    """Two unreadable validators differing only after 80 characters are not equal."""
    long = "x" * 90
    a = Validator("unknown", text=f"f('{long}a')", digest="1")
    b = Validator("unknown", text=f"f('{long}b')", digest="2")
    assert a != b and a.describe().endswith("…>")
    assert Validator("unknown", text="f()", digest="") != Validator("unknown", text="f()", digest="")


def test_import_and_export_lists_map_names_and_aliases() -> None:
    """Import lists bind each local name (its alias, or the name) to the module's export, a
    type-only item binds nothing; export lists export a local under its alias, or re-export a
    module's name under it (a string alias by its value)."""
    from deploycheck.rollback.schema.ts import parse_module

    module = parse_module(
        'import { defineSchema, type Infer, v as values, "odd-name" as odd } from "convex/server";\n'
        "import type { Doc } from './_generated/dataModel';\n"
        "const users = 1;\n"
        'export { users, users as people, type Doc as D, users as "quoted name" };\n'
        'export { tables as schemaTables, other } from "./tables";\n'
    )
    assert module.imports == {
        "defineSchema": ("convex/server", "defineSchema"),
        "values": ("convex/server", "v"),
        "odd": ("convex/server", "odd-name"),
    }
    assert module.exports == {"users": "users", "people": "users", "D": "Doc", "quoted name": "users"}
    assert module.reexports == {"schemaTables": ("./tables", "tables"), "other": ("./tables", "other")}
