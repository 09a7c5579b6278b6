"""The Convex half of the static schema evaluator: ``v.*``, convex-helpers, tables and the schema.

:class:`ConvexBuilders` turns calls into validators, tables and the :class:`Schema`, as
convex-js defines them (``src/values/validator.ts`` for ``v``, ``src/values/validators.ts``
for ``VObject.omit/pick/partial/extend``, ``src/server/schema.ts`` for ``defineTable``,
its index methods and ``defineSchema``) and as convex-helpers defines ``Table()``,
``literals``, ``nullable``, ``pretend`` and ``brandedString``. The expression evaluator in
:mod:`deploycheck.rollback.schema.read` inherits it.
"""

from __future__ import annotations

from typing import Any

from deploycheck.rollback.schema.digest import package_name
from deploycheck.rollback.schema.model import ExternalTables, Index, Schema, Table, Validator, union_of
from deploycheck.rollback.schema.ts import Call, Module, Node, ParseError, Spread
from deploycheck.rollback.schema.values import (
    PRIMITIVES,
    Ref,
    TableValue,
    Unreadable,
    config_of,
    json_string,
    optional_of,
    required_of,
)

__all__ = ["ConvexBuilders"]


class ConvexBuilders:
    """Validator, table and schema construction; the expression evaluation is the subclass's."""

    module: Module
    ctx: Any

    def eval(self, node: Node) -> Any:
        raise NotImplementedError

    def arg_validator(self, node: Node, value: Any = None) -> Validator:
        raise NotImplementedError

    def fields_object(self, fields: dict[str, Any]) -> Validator:
        raise NotImplementedError

    def unknown(self, node: Node, why: str = "") -> Validator:
        raise NotImplementedError

    def unknown_from(self, value: Any, node: Node, why: str = "") -> Validator:
        raise NotImplementedError

    def where(self, node: Node) -> str:
        raise NotImplementedError

    def error(self, node: Node, message: str) -> ParseError:
        raise NotImplementedError

    def object_method(self, target: Validator, method: str, node: Call) -> Any:
        """``v.object(...).omit/pick/partial/extend``, as convex-js ``VObject`` defines them."""
        fields = dict(target.fields)
        args = [self.eval(arg) for arg in node.args]
        if method in {"omit", "pick"} and all(isinstance(a, str) for a in args):
            names = set(args)
            kept = {k: f for k, f in fields.items() if (k in names) == (method == "pick")}
            return Validator("object", fields=tuple(sorted(kept.items())))
        if method == "partial" and not args:
            return Validator("object", fields=tuple(sorted((k, optional_of(f)) for k, f in fields.items())))
        if method == "extend" and len(args) == 1 and isinstance(args[0], dict):
            extra = self.fields_object(args[0])
            return Validator("object", fields=tuple(sorted({**fields, **dict(extra.fields)}.items())))
        return Unreadable(f"`.{method}(...)` with arguments the static parser cannot read", self.where(node))

    def validator(self, name: str, node: Call) -> Validator:  # noqa: PLR0911, PLR0912 - one branch per v.*
        args = node.args
        if name in PRIMITIVES:
            return Validator(PRIMITIVES[name])
        if name == "id" and args:
            table = self.eval(args[0])
            if isinstance(table, str):
                return Validator("id", table=table)
            return self.unknown_from(table, node, "v.id() of a table name the static parser cannot read")
        if name == "literal" and args:
            value = self.eval(args[0])
            if isinstance(value, bool):
                return Validator("literal", value="true" if value else "false")
            if isinstance(value, str):
                return Validator("literal", value=json_string(value))
            if isinstance(value, float):
                return Validator("literal", value=repr(value).removesuffix(".0"))
            if isinstance(value, int):
                return Validator("literal", value=f"{value}n")
            return self.unknown_from(value, node, "v.literal() of a value the static parser cannot read")
        if name == "optional" and args:
            return optional_of(self.arg_validator(args[0]))
        if name == "nullable" and args:
            return union_of([required_of(self.arg_validator(args[0])), Validator("null")])
        if name == "array" and args:
            return Validator("array", items=(required_of(self.arg_validator(args[0])),))
        if name == "record" and len(args) == 2:
            return Validator("record", items=(required_of(self.arg_validator(args[0])),
                                              required_of(self.arg_validator(args[1]))))
        if name == "object" and args:
            value = self.eval(args[0])
            return self.fields_object(value) if isinstance(value, dict) else self.unknown_from(value, node)
        if name == "union":
            return union_of([required_of(self.spread_args(arg)) for arg in args])
        return self.unknown(node, f"v.{name}() is not a validator this parser knows")

    def spread_args(self, node: Node) -> Validator:
        if isinstance(node, Spread):
            values = self.eval(node.expr)
            if isinstance(values, list) and all(isinstance(item, Validator) for item in values):
                return union_of(values)
            return self.unknown_from(values, node, "a spread the static parser cannot read")
        return self.arg_validator(node)

    def helper(self, name: str, node: Call) -> Any:
        """convex-helpers' validators, as its ``validators.ts`` defines them."""
        if name == "literals":
            return union_of([self.validator("literal", Call(node.line, a.start, a.end, node.callee, (a,)))
                             for a in node.args])
        if name == "nullable" and node.args:
            return union_of([required_of(self.arg_validator(node.args[0])), Validator("null")])
        if name == "pretend":
            return Validator("optional", items=(Validator("any"),))
        if name == "pretendRequired" and node.args:
            return optional_of(self.arg_validator(node.args[0]))
        if name == "brandedString":
            return Validator("string")
        message = f"convex-helpers' `{name}(...)` is not read by the static parser"
        return Unreadable(message, self.where(node))

    def helper_table(self, node: Call) -> Any:
        """convex-helpers' ``Table(name, fields)``: ``{name, table, doc, withoutSystemFields, ...}``."""
        if len(node.args) != 2:
            return Unreadable("Table() needs a name and fields", self.where(node))
        name = self.eval(node.args[0])
        fields = self.eval(node.args[1])
        if not isinstance(name, str) or not isinstance(fields, dict):
            message = "Table() with a name or fields the static parser cannot read"
            return Unreadable(message, self.where(node))
        document = self.fields_object(fields)
        system = {"_id": (Validator("id", table=name), node), "_creationTime": (Validator("float64"), node)}
        with_system = {**fields, **system}
        return {
            "name": (name, node),
            "table": (TableValue(document, line=node.line), node),
            "doc": (self.fields_object(with_system), node),
            "withoutSystemFields": (fields, node),
            "withSystemFields": (with_system, node),
            "systemFields": (system, node),
            "_id": (Validator("id", table=name), node),
        }

    # tables and schema --------------------------------------------------------------------
    def define_table(self, node: Call) -> TableValue:
        if not node.args:
            raise self.error(node, "defineTable() needs a document validator")
        return TableValue(required_of(self.arg_validator(node.args[0])), line=node.line)

    def table_method(self, table: TableValue, method: str, node: Call) -> TableValue:
        args = [self.eval(arg) for arg in node.args]
        name = args[0] if args and isinstance(args[0], str) else self.module.snippet(node)
        config = args[1] if len(args) > 1 else None
        if method == "index":
            fields = config if isinstance(config, list) else config_of(config).get("fields", [])
            index = Index(str(name), "index", tuple(str(f) for f in fields))
        elif method == "searchIndex":
            opts = config_of(config)
            filters = tuple(str(f) for f in opts.get("filterFields", []))
            index = Index(str(name), "search", (str(opts.get("searchField", "")), *filters))
        elif method == "vectorIndex":
            opts = config_of(config)
            filters = tuple(str(f) for f in opts.get("filterFields", []))
            dims = opts.get("dimensions")
            index = Index(str(name), "vector", (str(opts.get("vectorField", "")), *filters),
                          (("dimensions", str(int(dims)) if isinstance(dims, float) else str(dims)),))
        else:
            return table
        return TableValue(table.document, [*table.indexes, index], table.line)

    def define_schema(self, node: Call) -> Schema:
        if not node.args:
            raise self.error(node, "defineSchema() needs an object of tables")
        tables_value = self.eval(node.args[0])
        if not isinstance(tables_value, dict):
            raise self.error(node, "defineSchema()'s first argument is not an object of tables")
        options = config_of(self.eval(node.args[1])) if len(node.args) > 1 else {}
        tables: dict[str, Table] = {}
        externals: list[ExternalTables] = []
        for name, (value, entry_node) in tables_value.items():
            where = entry_node if isinstance(entry_node, Node) else node
            if isinstance(value, TableValue):
                tables[name] = Table(name, value.document, tuple(value.indexes), value.line)
            elif isinstance(value, Ref) and name.startswith("..."):
                version = self.ctx.versions(package_name(value.module)) if self.ctx.versions else None
                label = ".".join((value.name, *value.path))
                externals.append(ExternalTables(label, value.module, version or "", self.where(where)))
            else:
                document = self.unknown_from(value, where, "" if isinstance(value, Unreadable | Validator)
                                             else "not a defineTable(...) the static parser reads")
                tables[name] = Table(name, document, (), where.line)
        return Schema(
            tables=dict(sorted(tables.items())),
            externals=tuple(externals),
            schema_validation=options.get("schemaValidation", True) is not False,
            strict_table_name_types=options.get("strictTableNameTypes", True) is not False,
            source=self.module.source,
        )
