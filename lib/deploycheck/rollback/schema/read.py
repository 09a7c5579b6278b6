"""Convex schemas as data: ``schema.ts`` parsed and evaluated into tables, validators and indexes.

:func:`parse_schema` reads the ``defineSchema`` / ``defineTable`` / ``v.*`` language,
including shared validators bound to consts, ``...spread`` of field objects and of
``v.object(...).fields``, unions of objects as table documents, ``.index()``,
``.searchIndex()``, ``.vectorIndex()`` and the ``defineSchema`` options. Relative imports
are followed through a ``load`` callback (``./validators`` -> the file's text; an import of
``./validators.js`` finds ``validators.ts``, as TypeScript's resolution does), so the schema
of a git ref can be read entirely from that ref. Functions whose body is one expression
(``const withTimestamps = (fields) => ({...fields, createdAt: v.number()})``) are applied,
convex-helpers' ``Table()``, ``literals``, ``nullable``, ``deprecated`` and ``v.object``'s
``omit``/``pick``/``partial``/``extend`` are modelled as their source defines them, and
computed keys (``[CURRENCIES.USD]: v.number()``) are evaluated.

Anything else becomes an ``unknown`` validator that says why, where (``file:line``), and
carries its whole source with a digest of everything it depends on (the bindings it uses,
the local modules it imports, the versions of the packages it imports, from ``versions``),
so the diff treats it as unchanged only when all of that is identical, and otherwise
refuses it.

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

from deploycheck.rollback.schema.builders import ConvexBuilders
from deploycheck.rollback.schema.digest import DependencyDigest
from deploycheck.rollback.schema.model import Schema, Validator
from deploycheck.rollback.schema.ts import (
    Arr,
    Arrow,
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
from deploycheck.rollback.schema.values import (
    HELPER_MODULES,
    HELPER_SERVER_MODULES,
    MAX_CALL_DEPTH,
    SERVER_MODULES,
    VALUES_MODULES,
    Ref,
    TableValue,
    Unreadable,
)

__all__ = ["parse_schema"]

# -- evaluation -----------------------------------------------------------------------------


@dataclass
class _Context:
    load: Callable[[str], str | None] | None
    versions: Callable[[str], str | None] | None = None
    modules: dict[str, Module] = field(default_factory=dict)
    evaluating: set[tuple[str, str]] = field(default_factory=set)
    cache: dict[tuple[str, str], Any] = field(default_factory=dict)
    depth: int = 0


class _Evaluator(ConvexBuilders):
    """Evaluates the expressions of one module (names, imports, literals, calls) in a scope."""

    ctx: _Context

    def __init__(self, context: _Context, module: Module, scope: dict[str, Any] | None = None) -> None:
        self.ctx = context
        self.module = module
        self.scope = scope or {}

    def error(self, node: Node, message: str) -> ParseError:
        return ParseError(message, node.line, 1, self.module.source)

    def where(self, node: Node) -> str:
        return f"{self.module.source}:{node.line}"

    # unreadable validators ------------------------------------------------------------------
    def digest(self, node: Node) -> str:
        """A hash of ``node``'s source and everything it refers to; "" when that cannot be pinned down."""
        digester = DependencyDigest(lambda module, name: _Evaluator(self.ctx, module).load_module(name),
                                    self.ctx.versions)
        return digester.digest(self.module, node, self.scope)

    def unknown(self, node: Node, why: str = "") -> Validator:
        """An unknown validator for ``node``: full source, digest of its dependencies, reason, place."""
        reason = why or "not a validator the static parser reads"
        return Validator("unknown", text=self.module.text[node.start : node.end], digest=self.digest(node),
                         reason=reason, where=self.where(node))

    def unknown_from(self, value: Any, node: Node, why: str = "") -> Validator:
        if isinstance(value, Validator) and value.kind == "unknown":
            return value
        if isinstance(value, Unreadable):
            text = self.module.text[node.start : node.end]
            return Validator("unknown", text=text, digest=self.digest(node), reason=value.reason,
                             where=value.where)
        if isinstance(value, Ref) and not why:
            what = ".".join((value.name, *value.path))
            why = (f"`{what}` from package {value.module!r} is not read by the static parser"
                   if value.module else f"`{what}` is not defined in {self.module.source}")
        return self.unknown(node, why)

    # names --------------------------------------------------------------------------------
    def lookup(self, name: str, node: Node) -> Any:
        if name in self.scope:
            return self.scope[name]
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
        if name in self.module.bindings:  # module scope: a function's parameters are not visible here
            return _Evaluator(self.ctx, self.module).eval(self.module.bindings[name])
        if name in self.module.imports:
            module_name, imported = self.module.imports[name]
            return self.import_value(module_name, imported)
        if name == "v":  # tolerate a missing import of the values namespace
            return Ref("convex/values", "v")
        return Ref("", name)

    def import_value(self, module_name: str, imported: str) -> Any:  # noqa: PLR0911 - one return per import form
        if not module_name.startswith("."):
            if module_name in HELPER_MODULES and imported == "deprecated":
                return Validator("optional", items=(Validator("any"),))  # a value, not a function
            return Ref(module_name, imported)
        where = f"{self.module.source}:{self._import_line(module_name)}"
        other = self.load_module(module_name)
        if other is None:
            return Unreadable(f"import {module_name!r} not found next to {self.module.source}", where)
        evaluator = _Evaluator(self.ctx, other)
        if imported == "*":
            return {name: (evaluator.lookup(local, Ident(1, 0, 0, local)), Ident(1, 0, 0, local))
                    for name, local in other.exports.items()}
        if imported in other.exports:
            return evaluator.lookup(other.exports[imported], Ident(1, 0, 0, imported))
        if imported in other.reexports:
            source, name = other.reexports[imported]
            return evaluator.import_value(source, name)
        if imported == "default" and other.default is not None:
            return evaluator.eval(other.default)
        return Unreadable(f"{other.source} does not export {imported!r} (or exports it in a form not read)",
                           where)

    def _import_line(self, module_name: str) -> int:
        quoted = (f'"{module_name}"', f"'{module_name}'")
        for number, line in enumerate(self.module.text.splitlines(), 1):
            if any(q in line for q in quoted):
                return number
        return 1

    def load_module(self, module_name: str) -> Module | None:
        if self.ctx.load is None:
            return None
        base = posixpath.dirname(self.module.source)
        stem = posixpath.normpath(posixpath.join(base, module_name))
        candidates = [stem]
        for js, ts in ((".js", ".ts"), (".js", ".tsx"), (".mjs", ".mts"), (".cjs", ".cts")):
            if stem.endswith(js):  # TypeScript resolves "./x.js" to x.ts on disk
                candidates.append(stem[: -len(js)] + ts)
        candidates += [f"{stem}.ts", f"{stem}.tsx", f"{stem}.js", f"{stem}/index.ts", f"{stem}/index.js"]
        for candidate in candidates:
            if candidate in self.ctx.modules:
                return self.ctx.modules[candidate]
            if not candidate.endswith((".ts", ".tsx", ".js", ".mjs", ".mts", ".cjs", ".cts")):
                continue
            text = self.ctx.load(candidate)
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
        if isinstance(node, Arrow):
            return node
        if isinstance(node, Opaque):
            return Unreadable(f"the static parser does not evaluate this {node.reason}"
                               if not node.reason.startswith("parse error") else node.reason,
                               self.where(node))
        return Unreadable("the static parser does not evaluate this expression", self.where(node))

    def object_literal(self, node: Obj) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for entry in node.entries:
            if isinstance(entry, Prop):
                key = entry.key
                if entry.computed is not None:
                    computed = self.eval(entry.computed)
                    if isinstance(computed, str):
                        key = computed
                    elif isinstance(computed, float) and computed.is_integer():
                        key = str(int(computed))
                    else:
                        where = self.where(entry.computed)
                        value = Unreadable(f"computed key {entry.key} could not be evaluated", where)
                        result[key] = (value, entry.value)
                        continue
                result[key] = (self.eval(entry.value), entry.value)
                continue
            spread = self.eval(entry.expr)
            if isinstance(spread, dict):
                result.update(spread)
            elif isinstance(spread, Validator) and spread.kind == "object":
                result.update({k: (item, entry) for k, item in spread.fields})
            elif isinstance(spread, Ref):
                result[f"...{self.module.text[entry.expr.start:entry.expr.end]}"] = (spread, entry)
            else:
                result[f"...{self.module.text[entry.expr.start:entry.expr.end]}"] = (
                    self.unknown_from(spread, entry.expr, "spread of a value the static parser cannot read"),
                    entry)
        return result

    def member(self, node: Member) -> Any:  # noqa: PLR0911 - one return per kind of object
        target = self.eval(node.obj)
        if isinstance(target, Ref):
            return target.member(node.name)
        if isinstance(target, dict) and node.name in target:
            return target[node.name][0]
        if isinstance(target, Validator) and target.kind == "object":
            if node.name == "fields":
                return {k: (item, node) for k, item in target.fields}
            if node.name in {"omit", "pick", "partial", "extend"}:
                return ("object-method", target, node.name)
        if isinstance(target, TableValue):
            return ("table-method", target, node.name)
        if isinstance(target, Unreadable):
            return target
        if isinstance(target, (list, str, dict, Validator)):
            kind = ("an array" if isinstance(target, list) else "a string" if isinstance(target, str)
                    else "an object" if isinstance(target, dict) else "a validator")
            message = f"`.{node.name}` on {kind} is not evaluated by the static parser"
            return Unreadable(message, self.where(node))
        return Unreadable(f"`.{node.name}` of a value the static parser cannot read", self.where(node))

    def call(self, node: Call) -> Any:  # noqa: PLR0911 - one return per known callee
        callee = self.eval(node.callee)
        if isinstance(callee, tuple) and callee and callee[0] == "table-method":
            return self.table_method(callee[1], callee[2], node)
        if isinstance(callee, tuple) and callee and callee[0] == "object-method":
            return self.object_method(callee[1], callee[2], node)
        if isinstance(callee, Arrow):
            return self.apply(callee, node)
        if isinstance(callee, Unreadable):
            return callee
        if not isinstance(callee, Ref):
            return Unreadable("a call of a value that is not a function the static parser reads",
                               self.where(node))
        if callee.module in SERVER_MODULES and not callee.path:
            if callee.name == "defineTable":
                return self.define_table(node)
            if callee.name == "defineSchema":
                return self.define_schema(node)
        if callee.module in VALUES_MODULES and callee.name == "v" and len(callee.path) == 1:
            return self.validator(callee.path[0], node)
        if callee.module in HELPER_MODULES and not callee.path:
            return self.helper(callee.name, node)
        if callee.module in HELPER_SERVER_MODULES and callee.name == "Table" and not callee.path:
            return self.helper_table(node)
        what = ".".join((callee.name, *callee.path))
        origin = f"package {callee.module!r}" if callee.module else "nowhere (not defined or imported)"
        message = f"call of `{what}` from {origin}: the static parser does not read it"
        return Unreadable(message, self.where(node))

    def apply(self, function: Arrow, node: Call) -> Any:
        """Call a one-expression function with the evaluated arguments bound to its parameters."""
        if any(isinstance(arg, Spread) for arg in node.args):
            return Unreadable("a spread argument to a local function", self.where(node))
        if self.ctx.depth >= MAX_CALL_DEPTH:
            return Unreadable("local functions nested too deeply", self.where(node))
        args = [self.eval(arg) for arg in node.args]
        scope = {name: (args[i] if i < len(args) else None) for i, name in enumerate(function.params)}
        owner = self._owner(function)
        self.ctx.depth += 1
        try:
            outer = self.scope if owner is self.module else {}
            return _Evaluator(self.ctx, owner, {**outer, **scope}).eval(function.body)
        finally:
            self.ctx.depth -= 1

    def _owner(self, function: Arrow) -> Module:
        for module in (self.module, *self.ctx.modules.values()):
            if any(bound is function for bound in module.bindings.values()):
                return module
        return self.module

    # validators ---------------------------------------------------------------------------
    def arg_validator(self, node: Node, value: Any = None) -> Validator:
        value = self.eval(node) if value is None else value
        if isinstance(value, Validator):
            return value
        if isinstance(value, dict):  # a plain object of fields where a validator is expected
            return self.fields_object(value)
        return self.unknown_from(value, node)

    def fields_object(self, fields: dict[str, Any]) -> Validator:
        items: list[tuple[str, Validator]] = []
        for name, (value, node) in fields.items():
            if isinstance(value, Validator):
                items.append((name, value))
            elif isinstance(value, dict):
                items.append((name, self.fields_object(value)))
            else:
                where = node if isinstance(node, Node) else Ident(1, 0, 0, name)
                items.append((name, self.unknown_from(value, where)))
        return Validator("object", fields=tuple(sorted(items)))

def parse_schema(
    text: str,
    source: str = "schema.ts",
    load: Callable[[str], str | None] | None = None,
    versions: Callable[[str], str | None] | None = None,
) -> Schema:
    """Parse and evaluate a Convex ``schema.ts``.

    ``source`` is the file's path (relative imports resolve against it); ``load(path)``
    returns the text of another file, or None; ``versions(package)`` the version the
    lockfile pins for an npm package, or None. Raises :class:`ParseError` naming the
    line when the file has no ``defineSchema(...)`` default export or cannot be read.
    """
    module = parse_module(text, source)
    if module.default is None:
        raise ParseError("no `export default defineSchema(...)` found", 1, 1, source)
    context = _Context(load=load, versions=versions, modules={source: module})
    value = _Evaluator(context, module).eval(module.default)
    if isinstance(value, Unreadable):
        msg = f"the default export could not be read: {value.reason} (at {value.where})"
        raise ParseError(msg, module.default.line, 1, source)
    if not isinstance(value, Schema):
        raise ParseError("the default export is not defineSchema(...)", module.default.line, 1, source)
    return value
