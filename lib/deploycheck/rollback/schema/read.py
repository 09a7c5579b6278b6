"""Convex schemas as data: ``schema.ts`` parsed and evaluated into tables, validators and indexes.

:func:`parse_schema` reads the ``defineSchema`` / ``defineTable`` / ``v.*`` language,
including shared validators bound to consts, ``...spread`` of field objects and of
``v.object(...).fields``, unions of objects as table documents, ``.index()``,
``.searchIndex()``, ``.vectorIndex()`` and the ``defineSchema`` options. Relative imports
are followed through a ``load`` callback (``./validators`` -> the file's text), so the
schema of a git ref can be read entirely from that ref. Anything the evaluator cannot
understand becomes an ``unknown`` validator carrying its source text, so the diff can
still compare it and will not call it compatible unless it is unchanged.

Example::

    schema = parse_schema(Path("convex/schema.ts").read_text())
    schema.tables["messages"].document.fields

The model it builds lives in :mod:`deploycheck.rollback.schema.model`, re-exported here.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from deploycheck.rollback.schema.model import (
    ExternalTables,
    Index,
    Kind,
    Schema,
    Table,
    Validator,
    union_of,
)
from deploycheck.rollback.schema.ts import (
    Arr,
    Call,
    Ident,
    Member,
    Module,
    Node,
    Obj,
    Opaque,
    ParseError,
    Prop,
    Spread,
    parse_module,
)
from deploycheck.rollback.schema.ts import Literal as LiteralNode

__all__ = ["parse_schema"]

_PRIMITIVES: dict[str, Kind] = {
    "string": "string", "number": "float64", "float64": "float64", "int64": "int64", "bigint": "int64",
    "boolean": "boolean", "bytes": "bytes", "null": "null", "any": "any",
}
_SERVER_MODULES = {"convex/server"}
_VALUES_MODULES = {"convex/values"}
_HELPER_MODULES = {"convex-helpers/validators", "convex-helpers/server/validators"}


# -- evaluation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Ref:
    """A reference to something from a package: ``defineTable`` from convex/server, ``v``, ..."""

    module: str
    name: str
    path: tuple[str, ...] = ()

    def member(self, name: str) -> _Ref:
        return _Ref(self.module, self.name, (*self.path, name))


@dataclass
class _TableValue:
    document: Validator
    indexes: list[Index] = field(default_factory=list)
    line: int | None = None


@dataclass
class _Context:
    load: Callable[[str], str | None] | None
    modules: dict[str, Module] = field(default_factory=dict)
    evaluating: set[tuple[str, str]] = field(default_factory=set)
    cache: dict[tuple[str, str], Any] = field(default_factory=dict)


def _unknown(module: Module, node: Node, why: str = "") -> Validator:
    return Validator("unknown", text=module.snippet(node) + (f" ({why})" if why else ""))


class _Evaluator:
    def __init__(self, context: _Context, module: Module) -> None:
        self.ctx = context
        self.module = module

    def error(self, node: Node, message: str) -> ParseError:
        return ParseError(message, node.line, 1, self.module.source)

    # names --------------------------------------------------------------------------------
    def lookup(self, name: str, node: Node) -> Any:
        key = (self.module.source, name)
        if key in self.ctx.cache:
            return self.ctx.cache[key]
        if key in self.ctx.evaluating:
            raise self.error(node, f"{name!r} refers to itself")
        self.ctx.evaluating.add(key)
        try:
            value = self._resolve(name, node)
        finally:
            self.ctx.evaluating.discard(key)
        self.ctx.cache[key] = value
        return value

    def _resolve(self, name: str, node: Node) -> Any:
        if name in self.module.bindings:
            return self.eval(self.module.bindings[name])
        if name in self.module.imports:
            module_name, imported = self.module.imports[name]
            return self.import_value(module_name, imported)
        if name == "v":  # tolerate a missing import of the values namespace
            return _Ref("convex/values", "v")
        return _Ref("", name)

    def import_value(self, module_name: str, imported: str) -> Any:
        if module_name.startswith("."):
            other = self.load_module(module_name)
            if other is not None:
                evaluator = _Evaluator(self.ctx, other)
                if imported in other.exports:
                    return evaluator.lookup(other.exports[imported], Ident(1, 0, 0, imported))
                if imported in other.reexports:
                    source, name = other.reexports[imported]
                    return evaluator.import_value(source, name)
                if imported == "default" and other.default is not None:
                    return evaluator.eval(other.default)
        return _Ref(module_name, imported)

    def load_module(self, module_name: str) -> Module | None:
        if self.ctx.load is None:
            return None
        base = posixpath.dirname(self.module.source)
        stem = posixpath.normpath(posixpath.join(base, module_name))
        for candidate in (stem, f"{stem}.ts", f"{stem}.js", f"{stem}/index.ts"):
            if candidate in self.ctx.modules:
                return self.ctx.modules[candidate]
            text = self.ctx.load(candidate) if candidate.endswith((".ts", ".js")) else None
            if text is not None:
                module = parse_module(text, candidate)
                self.ctx.modules[candidate] = module
                return module
        return None

    # expressions --------------------------------------------------------------------------
    def eval(self, node: Node) -> Any:  # noqa: PLR0911 - one return per node type
        if isinstance(node, LiteralNode):
            if node.kind == "number":
                return float(node.value.rstrip("n")) if not node.value.endswith("n") else int(node.value[:-1])
            if node.kind == "boolean":
                return node.value == "true"
            if node.kind in {"null", "undefined"}:
                return None
            return node.value
        if isinstance(node, Ident):
            return self.lookup(node.name, node)
        if isinstance(node, Obj):
            return self.object_literal(node)
        if isinstance(node, Arr):
            return [self.eval(item) for item in node.items]
        if isinstance(node, Member):
            return self.member(node)
        if isinstance(node, Call):
            return self.call(node)
        return _unknown(self.module, node, node.reason if isinstance(node, Opaque) else "")

    def object_literal(self, node: Obj) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for entry in node.entries:
            if isinstance(entry, Prop):
                result[entry.key] = (self.eval(entry.value), entry.value)
                continue
            spread = self.eval(entry.expr)
            if isinstance(spread, dict):
                result.update(spread)
            elif isinstance(spread, Validator) and spread.kind == "object":
                result.update({k: (item, entry) for k, item in spread.fields})
            elif isinstance(spread, _Ref):
                result[f"...{self.module.snippet(entry.expr)}"] = (spread, entry)
            else:
                result[f"...{self.module.snippet(entry.expr)}"] = (_unknown(self.module, entry.expr), entry)
        return result

    def member(self, node: Member) -> Any:
        target = self.eval(node.obj)
        if isinstance(target, _Ref):
            return target.member(node.name)
        if isinstance(target, dict) and node.name in target:
            return target[node.name][0]
        if isinstance(target, Validator) and target.kind == "object" and node.name == "fields":
            return {k: (item, node) for k, item in target.fields}
        if isinstance(target, _TableValue):
            return ("table-method", target, node.name)
        return _unknown(self.module, node)

    def call(self, node: Call) -> Any:  # noqa: PLR0911 - one return per known callee
        callee = self.eval(node.callee)
        if isinstance(callee, tuple) and callee and callee[0] == "table-method":
            return self.table_method(callee[1], callee[2], node)
        if not isinstance(callee, _Ref):
            return _unknown(self.module, node)
        if callee.module in _SERVER_MODULES and not callee.path:
            if callee.name == "defineTable":
                return self.define_table(node)
            if callee.name == "defineSchema":
                return self.define_schema(node)
        if callee.module in _VALUES_MODULES and callee.name == "v" and len(callee.path) == 1:
            return self.validator(callee.path[0], node)
        if callee.module in _HELPER_MODULES and not callee.path:
            return self.helper(callee.name, node)
        return _unknown(self.module, node)

    # validators ---------------------------------------------------------------------------
    def arg_validator(self, node: Node) -> Validator:
        value = self.eval(node)
        if isinstance(value, Validator):
            return value
        if isinstance(value, dict):  # a plain object of fields where a validator is expected
            return self.fields_object(value)
        return _unknown(self.module, node)

    def fields_object(self, fields: dict[str, Any]) -> Validator:
        items: list[tuple[str, Validator]] = []
        for name, (value, node) in fields.items():
            if isinstance(value, Validator):
                items.append((name, value))
            elif isinstance(value, dict):
                items.append((name, self.fields_object(value)))
            else:
                items.append((name, _unknown(self.module, node)))
        return Validator("object", fields=tuple(sorted(items)))

    def validator(self, name: str, node: Call) -> Validator:  # noqa: PLR0911, PLR0912 - one branch per v.*
        args = node.args
        if name in _PRIMITIVES:
            return Validator(_PRIMITIVES[name])
        if name == "id" and args:
            table = self.eval(args[0])
            if isinstance(table, str):
                return Validator("id", table=table)
            return _unknown(self.module, node)
        if name == "literal" and args:
            value = self.eval(args[0])
            if isinstance(value, bool):
                return Validator("literal", value="true" if value else "false")
            if isinstance(value, str):
                return Validator("literal", value=_json_string(value))
            if isinstance(value, float):
                return Validator("literal", value=repr(value).removesuffix(".0"))
            if isinstance(value, int):
                return Validator("literal", value=f"{value}n")
            return _unknown(self.module, node)
        if name == "optional" and args:
            return Validator("optional", items=(self.arg_validator(args[0]),))
        if name == "nullable" and args:
            return union_of([self.arg_validator(args[0]), Validator("null")])
        if name == "array" and args:
            return Validator("array", items=(self.arg_validator(args[0]),))
        if name == "record" and len(args) == 2:
            return Validator("record", items=(self.arg_validator(args[0]), self.arg_validator(args[1])))
        if name == "object" and args:
            value = self.eval(args[0])
            return self.fields_object(value) if isinstance(value, dict) else _unknown(self.module, node)
        if name == "union":
            return union_of([self.spread_args(arg) for arg in args])
        return _unknown(self.module, node, f"v.{name} is not a known validator")

    def spread_args(self, node: Node) -> Validator:
        if isinstance(node, Spread):
            values = self.eval(node.expr)
            if isinstance(values, list) and all(isinstance(item, Validator) for item in values):
                return union_of(values)
            return _unknown(self.module, node)
        return self.arg_validator(node)

    def helper(self, name: str, node: Call) -> Validator:
        if name == "literals":
            return union_of([self.validator("literal", Call(node.line, a.start, a.end, node.callee, (a,)))
                             for a in node.args])
        if name == "nullable" and node.args:
            return union_of([self.arg_validator(node.args[0]), Validator("null")])
        if name == "deprecated":
            return Validator("optional", items=(Validator("any"),))
        return _unknown(self.module, node)

    # tables and schema --------------------------------------------------------------------
    def define_table(self, node: Call) -> _TableValue:
        if not node.args:
            raise self.error(node, "defineTable() needs a document validator")
        return _TableValue(self.arg_validator(node.args[0]), line=node.line)

    def table_method(self, table: _TableValue, method: str, node: Call) -> _TableValue:
        args = [self.eval(arg) for arg in node.args]
        name = args[0] if args and isinstance(args[0], str) else self.module.snippet(node)
        config = args[1] if len(args) > 1 else None
        if method == "index":
            fields = config if isinstance(config, list) else _config(config).get("fields", [])
            index = Index(str(name), "index", tuple(str(f) for f in fields))
        elif method == "searchIndex":
            opts = _config(config)
            filters = tuple(str(f) for f in opts.get("filterFields", []))
            index = Index(str(name), "search", (str(opts.get("searchField", "")), *filters))
        elif method == "vectorIndex":
            opts = _config(config)
            filters = tuple(str(f) for f in opts.get("filterFields", []))
            dims = opts.get("dimensions")
            index = Index(str(name), "vector", (str(opts.get("vectorField", "")), *filters),
                          (("dimensions", str(int(dims)) if isinstance(dims, float) else str(dims)),))
        else:
            return table
        return _TableValue(table.document, [*table.indexes, index], table.line)

    def define_schema(self, node: Call) -> Schema:
        if not node.args:
            raise self.error(node, "defineSchema() needs an object of tables")
        tables_value = self.eval(node.args[0])
        if not isinstance(tables_value, dict):
            raise self.error(node, "defineSchema()'s first argument is not an object of tables")
        options = _config(self.eval(node.args[1])) if len(node.args) > 1 else {}
        tables: dict[str, Table] = {}
        externals: list[ExternalTables] = []
        for name, (value, entry_node) in tables_value.items():
            if isinstance(value, _TableValue):
                tables[name] = Table(name, value.document, tuple(value.indexes), value.line)
            elif isinstance(value, _Ref) and name.startswith("..."):
                externals.append(ExternalTables(name[3:], value.module))
            else:
                where = entry_node if isinstance(entry_node, Node) else node
                document = _unknown(self.module, where, "not a defineTable(...)")
                tables[name] = Table(name, document, (), node.line)
        return Schema(
            tables=dict(sorted(tables.items())),
            externals=tuple(externals),
            schema_validation=options.get("schemaValidation", True) is not False,
            strict_table_name_types=options.get("strictTableNameTypes", True) is not False,
            source=self.module.source,
        )


def _config(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        return {}
    return {key: item for key, (item, _node) in value.items()}


def _json_string(value: str) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def parse_schema(
    text: str, source: str = "schema.ts", load: Callable[[str], str | None] | None = None
) -> Schema:
    """Parse and evaluate a Convex ``schema.ts``.

    ``source`` is the file's path (relative imports resolve against it); ``load(path)``
    returns the text of another file, or None. Raises :class:`ParseError` naming the
    line when the file has no ``defineSchema(...)`` default export or cannot be read.
    """
    module = parse_module(text, source)
    if module.default is None:
        raise ParseError("no `export default defineSchema(...)` found", 1, 1, source)
    context = _Context(load=load, modules={source: module})
    value = _Evaluator(context, module).eval(module.default)
    if not isinstance(value, Schema):
        raise ParseError("the default export is not defineSchema(...)", module.default.line, 1, source)
    return value
