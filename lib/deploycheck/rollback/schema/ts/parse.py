"""A tokenizer and recursive-descent parser for the TypeScript subset of Convex schema files.

It reads what ``convex/schema.ts`` files are made of: imports, ``const`` bindings,
``export default``, and expressions built from calls, member access, object and array
literals, strings, numbers and spreads. Type-only syntax (``type`` aliases, interfaces,
``as T``, ``satisfies T``, type annotations on consts) is recognised and skipped; other
statements (functions, classes) are skipped whole. The result is a :class:`Module` of
expression trees that :mod:`deploycheck.rollback.schema.read` evaluates.

This module reads statements; expressions are read by :mod:`deploycheck.rollback.schema.ts.expr`
on the token stream of :mod:`deploycheck.rollback.schema.ts.stream`.
"""

from __future__ import annotations

from deploycheck.rollback.schema.ts.ast import (
    Arrow,
    Module,
    Node,
    Opaque,
)
from deploycheck.rollback.schema.ts.expr import ExpressionParser
from deploycheck.rollback.schema.ts.lex import ParseError, Token

__all__ = ["parse_module"]


class _Parser(ExpressionParser):
    def parse_module(self) -> Module:
        module = Module(source=self.source, text=self.text)
        while self.peek() is not None:
            self.statement(module)
        return module

    def statement(self, module: Module) -> None:
        if self.at(";"):
            self.next()
        elif self.at("import") and not self.at("(", ".", offset=1):
            self.import_statement(module)
        elif self.at("export"):
            self.export_statement(module)
        elif self.at("const", "let", "var"):
            self.declaration(module, exported=False)
        elif self.at("function") or (self.at("async") and self.at("function", offset=1)):
            self.function_declaration(module, exported=False)
        else:
            self.skip_statement()

    def function_declaration(self, module: Module, *, exported: bool) -> None:
        """``function name(params) { return expr; }`` becomes a binding to an Arrow; others Opaque."""
        first = self.next()
        is_async = first.text == "async"
        if is_async:
            self.next()
        if self.at("*"):
            self.next()
            is_async = True
        name_token = self.next()
        if self.at("<"):
            self.skip_angles()
        start = self.pos
        try:
            params = self.parameters()
            if self.at(":"):
                self.next()
                self.skip_type()
            body = self.function_body() if self.at("{") else None
        except ParseError as exc:
            self.pos = start
            params, body = None, None
            reason = f"function not read: {exc}"
        else:
            reason = "function with statements"
        if body is None or params is None or is_async:
            self.pos = start
            while self.peek() is not None and not self.at("{"):
                self.skip_balanced()
            if self.peek() is not None:
                self.skip_balanced()
            node: Node = Opaque(first.line, first.start, self.tokens[self.pos - 1].end, reason)
        else:
            node = Arrow(first.line, first.start, self.tokens[self.pos - 1].end, params, body)
        module.bindings[name_token.text] = node
        if exported:
            module.exports[name_token.text] = name_token.text

    def import_statement(self, module: Module) -> None:
        self.expect("import")
        if self.peek() is not None and self.peek().kind == "string":  # type: ignore[union-attr]
            self.next()
            self.optional_semicolon()
            return
        type_only = self.at("type") and not self.at("from", ",", offset=1)
        if type_only:
            self.next()
        names: list[tuple[str, str]] = []
        if self.at("*"):
            self.next()
            self.expect("as")
            names.append((self.next().text, "*"))
        elif not self.at("{"):
            names.append((self.next().text, "default"))
            if self.at(","):
                self.next()
        if self.at("*"):
            self.next()
            self.expect("as")
            names.append((self.next().text, "*"))
        if self.at("{"):
            self.next()
            while not self.at("}"):
                item_type, imported, alias = self.list_item()
                if not item_type:
                    names.append((alias.text if alias else imported, imported))
            self.expect("}")
        self.expect("from")
        module_name = self.next()
        if module_name.kind != "string":
            raise ParseError("expected a module name string", module_name.line, module_name.col, self.source)
        if not type_only:
            for local, imported in names:
                module.imports[local] = (module_name.value, imported)
        self.optional_semicolon()

    def export_statement(self, module: Module) -> None:
        self.expect("export")
        if self.at("default"):
            self.next()
            if self.at("function", "class", "async", "interface"):
                self.skip_statement()
                return
            module.default = self.expression()
            self.optional_semicolon()
        elif self.at("const", "let", "var"):
            self.declaration(module, exported=True)
        elif self.at("function") or (self.at("async") and self.at("function", offset=1)):
            self.function_declaration(module, exported=True)
        elif self.at("{") or (self.at("type") and self.at("{", offset=1)):
            self.export_list(module)
        else:
            self.skip_statement()

    def export_list(self, module: Module) -> None:
        type_only = self.at("type")
        if type_only:
            self.next()
        self.expect("{")
        pairs: list[tuple[str, str]] = []
        while not self.at("}"):
            _, local, alias = self.list_item()
            pairs.append((local, alias.value if alias else local))
        self.expect("}")
        source_module: str | None = None
        if self.at("from"):
            self.next()
            source_module = self.next().value
        if not type_only:
            for local, exported in pairs:
                if source_module is None:
                    module.exports[exported] = local
                else:
                    module.reexports[exported] = (source_module, local)
        self.optional_semicolon()

    def list_item(self) -> tuple[bool, str, Token | None]:
        """One ``[type] name [as alias]`` of an import or export list, and the comma after it:
        whether it names a type only, the name (a string's value), and the alias token."""
        type_only = self.at("type") and not self.at(",", "}", "as", offset=1)
        if type_only:
            self.next()
        name = self.next().value
        alias = None
        if self.at("as"):
            self.next()
            alias = self.next()
        if self.at(","):
            self.next()
        return type_only, name, alias

    def declaration(self, module: Module, *, exported: bool) -> None:
        self.next()
        while True:
            if self.at("{", "["):
                self.skip_statement()
                return
            name = self.next().text
            if self.at(":"):
                self.next()
                self.skip_type()
            if self.at("="):
                self.next()
                start = self.pos
                try:
                    module.bindings[name] = self.expression()
                except ParseError as exc:
                    # keep the parse error: it becomes the reason of the unreadable validator
                    self.pos = start
                    token = self.tokens[start]
                    self.skip_statement()
                    end = self.tokens[self.pos - 1].end if self.pos > start else token.end
                    module.bindings[name] = Opaque(token.line, token.start, end, f"parse error: {exc}")
                    if exported:
                        module.exports[name] = name
                    return
            if exported:
                module.exports[name] = name
            if self.at(","):
                self.next()
                continue
            self.optional_semicolon()
            return

    def optional_semicolon(self) -> None:
        if self.at(";"):
            self.next()


def parse_module(text: str, source: str = "schema.ts") -> Module:
    """Parse a TypeScript module into its imports, bindings and exports.

    Raises :class:`ParseError` (with line and column) when the file cannot be read.
    """
    return _Parser(text, source).parse_module()
