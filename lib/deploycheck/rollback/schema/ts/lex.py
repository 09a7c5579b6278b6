"""The tokenizer of the TypeScript subset read by :mod:`deploycheck.rollback.schema.ts.parse`.

Strings (with escapes), template literals, regular expression literals (``/^[a-z"']+\\/x$/i``,
told apart from division by the token before them, as the ECMAScript grammar does),
numbers (``1_000``, ``0x1f``, ``10n``), identifiers and punctuators; whitespace and comments
are dropped.
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
    """One token: ``kind`` is ident, string, number, template, regex or punct."""

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


# After these a ``/`` is division; after anything else (``=``, ``(``, ``,``, ``return``...) it
# starts a regular expression literal.
_DIVISION_AFTER = frozenset({")", "]", "}"})
_REGEX_KEYWORDS = frozenset({"return", "typeof", "case", "do", "else", "in", "instanceof", "new", "of",
                             "throw", "void", "delete", "yield", "await"})


def _regex_allowed(previous: Token | None) -> bool:
    if previous is None:
        return True
    if previous.kind in {"string", "number", "template", "regex"}:
        return False
    if previous.kind == "ident":
        return previous.text in _REGEX_KEYWORDS
    return previous.text not in _DIVISION_AFTER


def _regex_end(text: str, start: int, line: int, col: int, source: str) -> int:
    """Index just past the regular expression literal (and its flags) starting at ``start``."""
    i = start + 1
    in_class = False
    while i < len(text) and text[i] != "\n":
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":
            in_class = True
        elif ch == "]":
            in_class = False
        elif ch == "/" and not in_class:
            i += 1
            while i < len(text) and (text[i].isalnum() or text[i] in "_$"):
                i += 1
            return i
        i += 1
    raise ParseError("unterminated regular expression literal", line, col, source)


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
        elif (text[pos] == "/" and not text.startswith(("//", "/*"), pos)
              and _regex_allowed(tokens[-1] if tokens else None)):
            end = _regex_end(text, pos, line, pos - line_start + 1, source)
            raw = text[pos:end]
            tokens.append(Token("regex", raw, line, pos - line_start + 1, pos, end, raw))
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
