"""The expression half of the Convex ``schema.ts`` parser (:mod:`deploycheck.rollback.schema.ts.parse`).

:class:`ExpressionParser` reads calls, member access, object and array literals, strings,
numbers and spreads into :mod:`deploycheck.rollback.schema.ts.ast` trees; operators, arrow
functions, templates with substitutions and other dynamic forms become :class:`Opaque`
nodes spanning their source text.
"""

from __future__ import annotations

from deploycheck.rollback.schema.ts.ast import (
    Arr,
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
from deploycheck.rollback.schema.ts.lex import ParseError
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
            if token.kind == "ident" and token.text in STATEMENT_KEYWORDS and token.line > previous.line:
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
