"""A tokenizer and recursive-descent parser for the TypeScript subset of Convex schema files.

It reads what ``convex/schema.ts`` files are made of: imports, ``const`` bindings,
``export default``, and expressions built from calls, member access, object and array
literals, strings, numbers and spreads. Type-only syntax (``type`` aliases, interfaces,
``as T``, ``satisfies T``, type annotations on consts) is recognised and skipped; other
statements (functions, classes) are skipped whole. The result is a :class:`Module` of
expression trees that :mod:`deploycheck.rollback.schema` evaluates.
"""

from __future__ import annotations

from deploycheck.rollback.tsast import (
    Arr,
    Call,
    Ident,
    Literal,
    Member,
    Module,
    Node,
    Obj,
    Opaque,
    Prop,
    Spread,
)
from deploycheck.rollback.tslex import ParseError, Token, tokenize

__all__ = [
    "Arr",
    "Call",
    "Ident",
    "Literal",
    "Member",
    "Module",
    "Node",
    "Obj",
    "Opaque",
    "ParseError",
    "Prop",
    "Spread",
    "Token",
    "parse_module",
    "tokenize",
]

_STATEMENT_KEYWORDS = frozenset(
    {"import", "export", "const", "let", "var", "type", "interface", "function", "class", "enum", "declare"}
)
_OPEN = {"(": ")", "[": "]", "{": "}"}
_BINARY = frozenset(
    {"||", "&&", "??", "+", "-", "*", "/", "%", "==", "===", "!=", "!==", "<", ">", "<=", ">=", "|", "&", "^",
     "instanceof", "in"}
)


class _Parser:
    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        self.tokens = tokenize(text, source)
        self.pos = 0

    # -- token helpers -------------------------------------------------------------------
    def peek(self, offset: int = 0) -> Token | None:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def at(self, *texts: str, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token is not None and token.kind in {"punct", "ident"} and token.text in texts

    def next(self) -> Token:
        token = self.peek()
        if token is None:
            last = self.tokens[-1] if self.tokens else Token("punct", "", 1, 1, 0, 0)
            raise ParseError("unexpected end of file", last.line, last.col, self.source)
        self.pos += 1
        return token

    def expect(self, text: str) -> Token:
        token = self.next()
        if token.text != text or token.kind not in {"punct", "ident"}:
            raise ParseError(f"expected {text!r}, found {token.text!r}", token.line, token.col, self.source)
        return token

    def error(self, message: str) -> ParseError:
        token = self.peek() or (self.tokens[-1] if self.tokens else Token("punct", "", 1, 1, 0, 0))
        return ParseError(message, token.line, token.col, self.source)

    def skip_balanced(self) -> None:
        """Skip one token, or a whole bracketed group when it opens one."""
        token = self.next()
        if token.kind != "punct" or token.text not in _OPEN:
            return
        stack = [_OPEN[token.text]]
        while stack:
            token = self.next()
            if token.kind == "punct" and token.text in _OPEN:
                stack.append(_OPEN[token.text])
            elif token.kind == "punct" and token.text == stack[-1]:
                stack.pop()

    def skip_statement(self) -> None:
        """Skip to the end of the current statement: a ``;`` or a keyword starting a new line."""
        start = self.pos
        while self.peek() is not None:
            token = self.peek()
            assert token is not None
            if token.kind == "punct" and token.text == ";":
                self.pos += 1
                return
            if self.pos > start and token.kind == "ident" and token.text in _STATEMENT_KEYWORDS:
                previous = self.tokens[self.pos - 1]
                if token.line > previous.line:
                    return
            self.skip_balanced()

    def skip_type(self) -> None:
        """Skip a type expression (after ``as``, ``satisfies``, or a ``:`` annotation)."""
        while True:
            while self.at("typeof", "keyof", "readonly", "unique"):
                self.next()
            token = self.next()
            if token.kind == "punct" and token.text in _OPEN:
                self.pos -= 1
                self.skip_balanced()
            while self.at(".") and self.peek(1) is not None:
                self.next()
                self.next()
            if self.at("<"):
                self.skip_angles()
            while self.at("[") and self.at("]", offset=1):
                self.next()
                self.next()
            if self.at("|", "&"):
                self.next()
                continue
            if self.at("=>"):
                self.next()
                continue
            return

    def skip_angles(self) -> None:
        self.expect("<")
        depth = 1
        while depth:
            token = self.next()
            if token.text == "<":
                depth += 1
            elif token.text == ">":
                depth -= 1
            elif token.kind == "punct" and token.text in _OPEN:
                self.pos -= 1
                self.skip_balanced()

    # -- statements ----------------------------------------------------------------------
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
        else:
            self.skip_statement()

    def import_statement(self, module: Module) -> None:  # noqa: PLR0912 - the import forms of ES modules
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
                item_type = self.at("type") and not self.at(",", "}", "as", offset=1)
                if item_type:
                    self.next()
                imported = self.next().value
                local = imported
                if self.at("as"):
                    self.next()
                    local = self.next().text
                if not item_type:
                    names.append((local, imported))
                if self.at(","):
                    self.next()
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
            if self.at("type") and not self.at(",", "}", "as", offset=1):
                self.next()
            local = self.next().value
            exported = local
            if self.at("as"):
                self.next()
                exported = self.next().value
            pairs.append((local, exported))
            if self.at(","):
                self.next()
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
                except ParseError:
                    self.pos = start
                    token = self.tokens[start]
                    self.skip_statement()
                    module.bindings[name] = Opaque(token.line, token.start, token.end, "unparsed expression")
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

    # -- expressions ---------------------------------------------------------------------
    def expression(self) -> Node:
        first = self.peek()
        node = self.postfix()
        opaque = False
        while True:
            if self.at("as", "satisfies"):
                self.next()
                if self.at("const"):
                    self.next()
                else:
                    self.skip_type()
            elif self.at("?"):
                self.next()
                self.expression()
                self.expect(":")
                self.expression()
                opaque = True
            elif self.peek() is not None and self.peek().text in _BINARY:  # type: ignore[union-attr]
                self.next()
                self.postfix()
                opaque = True
            else:
                break
        if opaque and first is not None:
            end = self.tokens[self.pos - 1].end
            return Opaque(first.line, first.start, end, "expression with operators")
        return node

    def postfix(self) -> Node:
        node = self.primary()
        while True:
            if self.at(".", "?."):
                self.next()
                name = self.next()
                node = Member(node.line, node.start, name.end, node, name.text)
            elif self.at("!") and not self.at("=", offset=1):
                self.next()
            elif self.at("(") or (self.at("<") and self.generic_call_ahead()):
                if self.at("<"):
                    self.skip_angles()
                args = self.arguments()
                node = Call(node.line, node.start, self.tokens[self.pos - 1].end, node, args)
            elif self.at("[") and self.peek(1) is not None and self.peek(1).kind == "string":  # type: ignore[union-attr]
                if self.at("]", offset=2):
                    self.next()
                    key = self.next().value
                    end = self.next().end
                    node = Member(node.line, node.start, end, node, key)
                else:
                    return node
            else:
                return node

    def generic_call_ahead(self) -> bool:
        """True when ``<`` opens type arguments of a call (``f<T>(...)``), not a comparison."""
        saved = self.pos
        try:
            self.skip_angles()
            return self.at("(")
        except ParseError:
            return False
        finally:
            self.pos = saved

    def arguments(self) -> tuple[Node, ...]:
        self.expect("(")
        args: list[Node] = []
        while not self.at(")"):
            args.append(self.element())
            if not self.at(")"):
                self.expect(",")
        self.expect(")")
        return tuple(args)

    def element(self) -> Node:
        if self.at("..."):
            token = self.next()
            expr = self.expression()
            return Spread(token.line, token.start, expr.end, expr)
        return self.expression()

    def primary(self) -> Node:  # noqa: PLR0911, PLR0912 - one branch per token kind
        token = self.peek()
        if token is None:
            raise self.error("unexpected end of file in an expression")
        if token.kind == "string":
            self.next()
            return Literal(token.line, token.start, token.end, "string", token.value)
        if token.kind == "template":
            self.next()
            if "${" in token.value:
                return Opaque(token.line, token.start, token.end, "template literal with substitutions")
            return Literal(token.line, token.start, token.end, "string", token.value)
        if token.kind == "number":
            self.next()
            return Literal(token.line, token.start, token.end, "number", token.text.replace("_", ""))
        if token.kind == "punct" and token.text in {"-", "+"}:
            self.next()
            operand = self.primary()
            if isinstance(operand, Literal) and operand.kind == "number":
                value = token.text.lstrip("+") + operand.value
                return Literal(token.line, token.start, operand.end, "number", value)
            return Opaque(token.line, token.start, operand.end, "unary expression")
        if token.kind == "punct" and token.text == "{":
            return self.object_literal()
        if token.kind == "punct" and token.text == "[":
            return self.array_literal()
        if token.kind == "punct" and token.text == "(":
            return self.parenthesised()
        if token.kind == "ident":
            if token.text in {"true", "false"}:
                self.next()
                return Literal(token.line, token.start, token.end, "boolean", token.text)
            if token.text in {"null", "undefined"}:
                self.next()
                return Literal(token.line, token.start, token.end, token.text, token.text)
            if token.text in {"function", "async", "new", "class", "typeof", "void", "await"}:
                return self.opaque_until_boundary(token.text)
            self.next()
            if self.at("=>"):
                self.next()
                body = self.arrow_body()
                return Opaque(token.line, token.start, body, "arrow function")
            return Ident(token.line, token.start, token.end, token.text)
        raise ParseError(f"unexpected {token.text!r} in an expression", token.line, token.col, self.source)

    def opaque_until_boundary(self, reason: str) -> Node:
        first = self.next()
        while self.peek() is not None and not self.at(",", ")", "]", "}", ";"):
            previous = self.tokens[self.pos - 1]
            token = self.peek()
            assert token is not None
            if token.kind == "ident" and token.text in _STATEMENT_KEYWORDS and token.line > previous.line:
                break
            self.skip_balanced()
        end = self.tokens[self.pos - 1].end
        return Opaque(first.line, first.start, end, f"{reason} expression")

    def arrow_body(self) -> int:
        if self.at("{"):
            self.skip_balanced()
            return self.tokens[self.pos - 1].end
        return self.expression().end

    def parenthesised(self) -> Node:
        open_token = self.next()
        saved = self.pos
        try:
            inner = self.expression()
            self.expect(")")
            if not self.at("=>", ":"):
                return inner
        except ParseError:
            pass
        self.pos = saved - 1
        self.skip_balanced()
        if self.at(":"):
            self.next()
            self.skip_type()
        if not self.at("=>"):
            raise self.error("expected '=>' after a parameter list")
        self.next()
        end = self.arrow_body()
        return Opaque(open_token.line, open_token.start, end, "arrow function")

    def object_literal(self) -> Obj:
        open_token = self.expect("{")
        entries: list[Prop | Spread] = []
        while not self.at("}"):
            if self.at("..."):
                token = self.next()
                expr = self.expression()
                entries.append(Spread(token.line, token.start, expr.end, expr))
            else:
                key_token = self.next()
                if key_token.kind == "punct" and key_token.text == "[":
                    message = "computed property names are not supported"
                    raise ParseError(message, key_token.line, key_token.col, self.source)
                key = key_token.value if key_token.kind == "string" else key_token.text
                if self.at(":"):
                    self.next()
                    entries.append(Prop(key, self.expression()))
                elif self.at("("):
                    self.skip_balanced()
                    self.skip_balanced()
                else:
                    entries.append(Prop(key, Ident(key_token.line, key_token.start, key_token.end, key)))
            if not self.at("}"):
                self.expect(",")
        close = self.expect("}")
        return Obj(open_token.line, open_token.start, close.end, tuple(entries))

    def array_literal(self) -> Arr:
        open_token = self.expect("[")
        items: list[Node] = []
        while not self.at("]"):
            items.append(self.element())
            if not self.at("]"):
                self.expect(",")
        close = self.expect("]")
        return Arr(open_token.line, open_token.start, close.end, tuple(items))


def parse_module(text: str, source: str = "schema.ts") -> Module:
    """Parse a TypeScript module into its imports, bindings and exports.

    Raises :class:`ParseError` (with line and column) when the file cannot be read.
    """
    return _Parser(text, source).parse_module()
