"""Property: on random schema pairs the static parser and the Node evaluation agree whenever the parser gives a verdict.

Schemas are drawn from a small validator grammar (primitives, literals, ids, arrays,
records, objects with optional fields, unions, nullable) and written in varied styles
(hoisted consts, local helper functions, spread field groups, computed keys,
convex-helpers ``literals``/``Table``), so the parser meets the constructs real apps use.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convex_schema_pairs import listing
from deploycheck.rollback.schema import NodeToolchain, Schema, diff_schemas, evaluate_folder, parse_schema

FIELDS = ("a", "b", "c", "d")
TABLES = ("t", "u", "w")
PRIMS = ("string", "number", "float64", "int64", "bigint", "boolean", "bytes", "null", "any")
LITERALS = ('"x"', '"y"', "1", "2", "1.5", "-3", "true", "false", "3n")

leaf = st.one_of(
    st.tuples(st.just("prim"), st.sampled_from(PRIMS)),
    st.tuples(st.just("lit"), st.sampled_from(LITERALS)),
    st.tuples(st.just("id"), st.sampled_from(TABLES)),
    st.tuples(st.just("literals"), st.lists(st.sampled_from(('"x"', '"y"', '"z"')), min_size=2, max_size=3,
                                            unique=True).map(tuple)),
)


def _extend(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    field = st.tuples(st.sampled_from(FIELDS), st.booleans(), inner)
    return st.one_of(
        st.tuples(st.just("array"), inner),
        st.tuples(st.just("record"), st.sampled_from(("string", "id")), inner),
        st.tuples(st.just("object"), st.lists(field, max_size=3, unique_by=lambda f: f[0]).map(tuple)),
        st.tuples(st.just("union"), st.lists(inner, min_size=2, max_size=3).map(tuple)),
        st.tuples(st.just("nullable"), inner),
    )


validators = st.recursive(leaf, _extend, max_leaves=6)
documents = st.lists(st.tuples(st.sampled_from(FIELDS), st.booleans(), validators), min_size=1, max_size=4,
                     unique_by=lambda f: f[0]).map(tuple)
tables = st.dictionaries(st.sampled_from(TABLES), st.tuples(documents, st.booleans()), min_size=1, max_size=3)
schemas = st.tuples(tables, st.booleans(), st.integers(0, 2**32 - 1))


class _Writer:
    """Writes one drawn schema as TypeScript, choosing a style for each node from a seeded RNG."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.decls: list[str] = []
        self.count = 0

    def hoist(self, expr: str) -> str:
        self.count += 1
        name = f"c{self.count}"
        self.decls.append(f"const {name} = {expr};")
        return name

    def validator(self, spec: Any) -> str:
        kind = spec[0]
        if kind == "prim":
            text = f"v.{spec[1]}()"
        elif kind == "lit":
            text = f"v.literal({spec[1]})"
        elif kind == "id":
            text = f'v.id("{spec[1]}")'
        elif kind == "literals":
            style = self.rng.random()
            if style < 0.1:  # not evaluated by the static parser: must be refused
                text = f"v.union(...[{', '.join(spec[1])}].map((s) => v.literal(s)))"
            elif style < 0.55:
                text = f"literals({', '.join(spec[1])})"
            else:
                text = f"v.union({', '.join(f'v.literal({x})' for x in spec[1])})"
        elif kind == "array":
            text = f"v.array({self.validator(spec[1])})"
        elif kind == "record":
            key = "v.string()" if spec[1] == "string" else 'v.id("t")'
            text = f"v.record({key}, {self.validator(spec[2])})"
        elif kind == "object":
            text = f"v.object({self.fields(spec[1])})"
        elif kind == "union":
            text = f"v.union({', '.join(self.validator(m) for m in spec[1])})"
        else:
            inner = self.validator(spec[1])
            text = f"v.nullable({inner})" if self.rng.random() < 0.5 else f"v.union({inner}, v.null())"
        style = self.rng.random()
        if style < 0.15:
            return self.hoist(text)
        if style < 0.25:
            return f"same({text})"
        return text

    def fields(self, fields: tuple[Any, ...]) -> str:
        parts = []
        for name, optional, spec in fields:
            inner = self.validator(spec)
            value = (f"opt({inner})" if self.rng.random() < 0.3 else f"v.optional({inner})") if optional else inner
            key = f"[K.{name}]" if self.rng.random() < 0.2 else name
            parts.append(f"{key}: {value}")
        body = "{ " + ", ".join(parts) + " }"
        if parts and self.rng.random() < 0.2:
            return "{ ..." + self.hoist(body) + " }"
        return body

    def schema(self, drawn: Any) -> str:
        tables_spec, validation, _seed = drawn
        entries = []
        for table, (fields, indexed) in sorted(tables_spec.items()):
            body = self.fields(fields)
            style = self.rng.random()
            if style < 0.2:
                table_expr = self.hoist(f'Table("{table}", {body})') + ".table"
            elif style < 0.4:
                table_expr = f"defineTable(v.object({body}))"
            else:
                table_expr = f"defineTable({body})"
            if indexed:
                table_expr += f'.index("by_{fields[0][0]}", ["{fields[0][0]}"])'
            entries.append(f"  {table}: {table_expr},")
        options = "" if validation else ", { schemaValidation: false }"
        return "\n".join([
            'import { defineSchema, defineTable } from "convex/server";',
            'import { v } from "convex/values";',
            'import { literals } from "convex-helpers/validators";',
            'import { Table } from "convex-helpers/server";',
            'const K = { a: "a", b: "b", c: "c", d: "d" } as const;',
            "const same = (x: any) => x;",
            "function opt(x: any) { return v.optional(x); }",
            *self.decls,
            "export default defineSchema({",
            *entries,
            f"}}{options});",
            "",
        ])


def _write(drawn: Any) -> str:
    return _Writer(drawn[2]).schema(drawn)


def _node(text: str, toolchain: NodeToolchain) -> Schema:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "convex"
        folder.mkdir()
        (folder / "schema.ts").write_text(text)
        result = evaluate_folder(folder, toolchain)
    assert result is not None
    return result.schema


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(live=schemas, target=schemas)
def test_static_and_node_agree_on_random_schema_pairs(live: Any, target: Any, toolchain: NodeToolchain) -> None:
    """Whenever the static parser gives a verdict it is Node's; where it refuses, Node's verdict may only be milder."""
    live_text, target_text = _write(live), _write(target)
    static_live, static_target = parse_schema(live_text), parse_schema(target_text)
    node_live, node_target = _node(live_text, toolchain), _node(target_text, toolchain)
    static_diff = diff_schemas(static_live, static_target)
    node_diff = diff_schemas(node_live, node_target)
    readable = all(t.document.is_readable for s in (static_live, static_target) for t in s.tables.values())
    if readable:
        for static, node in ((static_live, node_live), (static_target, node_target)):
            assert {n: t.document for n, t in static.tables.items()} == {
                n: t.document for n, t in node.tables.items()}
            assert static.schema_validation == node.schema_validation
    if any(c.kind == "validator not readable" for c in static_diff.changes):
        # a refusal: breaking wherever the target validates, and never milder than the truth
        assert static_diff.is_breaking or not static_target.schema_validation
        assert static_diff.is_breaking or not node_diff.is_breaking
        return
    assert listing(static_diff) == listing(node_diff)
