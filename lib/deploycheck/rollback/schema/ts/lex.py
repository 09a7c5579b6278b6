"""The tokenizer of the TypeScript subset read by :mod:`deploycheck.rollback.schema.ts.parse`.

Strings (with escapes), template literals, numbers (``1_000``, ``0x1f``, ``10n``),
identifiers and punctuators; whitespace and comments are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ParseError", "Token", "tokenize"]


class ParseError(ValueError):
    """Raised when a schema file is not the TypeScript this parser reads; names line and column."""

    def __init__(self, message: str, line: int, col: int, source: str = "schema.ts") -> None:
        self.line = line
        self.col = col
        self.source = source
        super().__init__(f"{source}:{line}:{col}: {message}")


@dataclass(frozen=True)
class Token:
    """One token: ``kind`` is ident, string, number, template or punct."""

    kind: str
    text: str
    line: int
    col: int
    start: int
    end: int
    value: str = ""


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<line_comment>//[^\n]*)
  | (?P<block_comment>/\*.*?\*/)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<number>0[xXbBoO][0-9a-fA-F_]+n?|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?n?)
  | (?P<ident>[A-Za-z_$][\w$]*)
  | (?P<punct>\.\.\.|=>|\?\.|\?\?=?|===|!==|==|!=|<=|>=|&&|\|\||[{}()\[\];,.:<>=|&!?+\-*/%@#^~])
    """,
    re.VERBOSE | re.DOTALL,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


def _unquote(text: str) -> str:
    body = text[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt == "u" and body[i + 2 : i + 3] == "{":
                close = body.index("}", i)
                out.append(chr(int(body[i + 3 : close], 16)))
                i = close + 1
                continue
            if nxt == "u":
                out.append(chr(int(body[i + 2 : i + 6], 16)))
                i += 6
                continue
            if nxt == "x":
                out.append(chr(int(body[i + 2 : i + 4], 16)))
                i += 4
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _template_end(text: str, start: int, source: str) -> int:
    """Index just past the template literal starting at ``start`` (nested ``${}`` included)."""
    i = start + 1
    depth = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if depth == 0 and ch == "`":
            return i + 1
        if ch == "$" and text[i + 1 : i + 2] == "{":
            depth += 1
            i += 2
            continue
        if depth and ch == "}":
            depth -= 1
        elif depth and ch == "`":
            i = _template_end(text, i, source)
            continue
        i += 1
    line = text.count("\n", 0, start) + 1
    raise ParseError("unterminated template literal", line, start - text.rfind("\n", 0, start), source)


def tokenize(text: str, source: str = "schema.ts") -> list[Token]:
    """Split ``text`` into tokens, dropping whitespace and comments."""
    tokens: list[Token] = []
    pos = 0
    line = 1
    line_start = 0
    while pos < len(text):
        if text[pos] == "`":
            end = _template_end(text, pos, source)
            raw = text[pos:end]
            tokens.append(Token("template", raw, line, pos - line_start + 1, pos, end, raw[1:-1]))
        else:
            match = _TOKEN.match(text, pos)
            if match is None:
                if text.startswith("/*", pos):
                    raise ParseError("unterminated comment", line, pos - line_start + 1, source)
                raise ParseError(f"unexpected character {text[pos]!r}", line, pos - line_start + 1, source)
            end = match.end()
            kind = match.lastgroup or "punct"
            raw = match.group()
            if kind in {"string", "number", "ident", "punct"}:
                value = _unquote(raw) if kind == "string" else raw
                tokens.append(Token(kind, raw, line, pos - line_start + 1, pos, end, value))
        newlines = text.count("\n", pos, end)
        if newlines:
            line += newlines
            line_start = text.rfind("\n", pos, end) + 1
        pos = end
    return tokens
