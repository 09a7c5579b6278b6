"""The token stream under :mod:`deploycheck.rollback.schema.ts.parse`: lookahead and skipping.

:class:`TokenStream` holds the tokens of one file and a position in them; it peeks,
expects, and skips what the parser does not read: bracketed groups, whole statements,
type expressions and type-argument lists.
"""

from __future__ import annotations

from deploycheck.rollback.schema.ts.lex import ParseError, Token, tokenize

__all__ = ["STATEMENT_KEYWORDS", "TokenStream"]

STATEMENT_KEYWORDS = frozenset(
    {"import", "export", "const", "let", "var", "type", "interface", "function", "class", "enum", "declare"}
)
_OPEN = {"(": ")", "[": "]", "{": "}"}


class TokenStream:
    """The tokens of one source file and the parser's position in them."""

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
            if self.pos > start and token.kind == "ident" and token.text in STATEMENT_KEYWORDS:
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
