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
