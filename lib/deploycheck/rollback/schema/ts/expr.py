"""The expression half of the Convex ``schema.ts`` parser (:mod:`deploycheck.rollback.schema.ts.parse`).

:class:`ExpressionParser` reads calls, member access, object and array literals, strings,
numbers and spreads into :mod:`deploycheck.rollback.schema.ts.ast` trees; operators, arrow
functions, templates with substitutions and other dynamic forms become :class:`Opaque`
nodes spanning their source text.
"""

from __future__ import annotations

from deploycheck.rollback.schema.ts.ast import (
    Arr,
    Arrow,
    Call,
    Ident,
    Literal,
    Member,
    Node,
    Obj,
    Opaque,
    Prop,
    Spread,
)
from deploycheck.rollback.schema.ts.lex import ParseError, Token
from deploycheck.rollback.schema.ts.stream import STATEMENT_KEYWORDS, TokenStream

__all__ = ["ExpressionParser"]

_BINARY = frozenset(
    {"||", "&&", "??", "+", "-", "*", "/", "%", "==", "===", "!=", "!==", "<", ">", "<=", ">=", "|", "&", "^",
     "instanceof", "in"}
)


class ExpressionParser(TokenStream):
    """Parses TypeScript expressions from a :class:`TokenStream`."""

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
        if token.kind == "regex":
            self.next()
            return Literal(token.line, token.start, token.end, "regex", token.text)
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
                return self.arrow(token, (token.text,))
            return Ident(token.line, token.start, token.end, token.text)
        raise ParseError(f"unexpected {token.text!r} in an expression", token.line, token.col, self.source)

    def opaque_until_boundary(self, reason: str) -> Node:
        first = self.next()
        while self.peek() is not None and not self.at(",", ")", "]", "}", ";"):
            previous = self.tokens[self.pos - 1]
            token = self.peek()
            assert token is not None
            if token.kind == "ident" and token.text in STATEMENT_KEYWORDS and token.line > previous.line:
                break
            self.skip_balanced()
        end = self.tokens[self.pos - 1].end
        return Opaque(first.line, first.start, end, f"{reason} expression")

    def arrow(self, first: Token, params: tuple[str, ...] | None) -> Node:
        """The body after ``=>``: an Arrow when it is one expression (or ``{ return expr; }``)."""
        saved = self.pos
        body = self.function_body()
        if body is None or params is None:
            self.pos = saved
            if self.at("{"):
                self.skip_balanced()
            else:
                self.expression()
            return Opaque(first.line, first.start, self.tokens[self.pos - 1].end, "function with statements")
        return Arrow(first.line, first.start, self.tokens[self.pos - 1].end, params, body)

    def function_body(self) -> Node | None:
        """``expr`` or ``{ return expr; }``; None for any other block."""
        if not self.at("{"):
            return self.expression()
        saved = self.pos
        self.next()
        if not self.at("return"):
            self.pos = saved
            return None
        self.next()
        try:
            body = self.expression()
        except ParseError:
            self.pos = saved
            return None
        if self.at(";"):
            self.next()
        if not self.at("}"):
            self.pos = saved
            return None
        self.next()
        return body

    def parameters(self) -> tuple[str, ...] | None:
        """``(a, b: T, c?: U)`` read from ``(``; None when a parameter is destructured or has a default."""
        self.expect("(")
        names: list[str] = []
        simple = True
        while not self.at(")"):
            token = self.peek()
            if token is None:
                raise self.error("unexpected end of file in a parameter list")
            if token.kind != "ident" or self.at("...") or self.at("{", "["):
                simple = False
                self.skip_balanced()
            else:
                self.next()
                names.append(token.text)
            if self.at("?"):
                self.next()
            if self.at(":"):
                self.next()
                self.skip_type()
            if self.at("="):
                simple = False
                self.next()
                self.expression()
            if not self.at(")"):
                self.expect(",")
        self.expect(")")
        return tuple(names) if simple else None

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
        params = self.parameters()
        if self.at(":"):
            self.next()
            self.skip_type()
        if not self.at("=>"):
            raise self.error("expected '=>' after a parameter list")
        self.next()
        return self.arrow(open_token, params)

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
                computed: Node | None = None
                if key_token.kind == "punct" and key_token.text == "[":
                    computed = self.expression()
                    close_key = self.expect("]")
                    key = "[" + " ".join(self.text[key_token.end : close_key.start].split()) + "]"
                else:
                    key = key_token.value if key_token.kind == "string" else key_token.text
                if self.at(":"):
                    self.next()
                    entries.append(Prop(key, self.expression(), computed))
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
