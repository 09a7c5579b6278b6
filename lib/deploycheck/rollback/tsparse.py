"""A tokenizer and recursive-descent parser for the TypeScript subset of Convex schema files.

It reads what ``convex/schema.ts`` files are made of: imports, ``const`` bindings,
``export default``, and expressions built from calls, member access, object and array
literals, strings, numbers and spreads. Type-only syntax (``type`` aliases, interfaces,
``as T``, ``satisfies T``, type annotations on consts) is recognised and skipped; other
statements (functions, classes) are skipped whole. The result is a :class:`Module` of
expression trees that :mod:`deploycheck.rollback.schema` evaluates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

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


@dataclass(frozen=True)
class Node:
    """An expression tree node; ``start``/``end`` index the source text, ``line`` its first line."""

    line: int
    start: int
    end: int


@dataclass(frozen=True)
class Ident(Node):
    """A name: a binding, an import, or a global."""

    name: str


@dataclass(frozen=True)
class Literal(Node):
    """A string, number, boolean, null or undefined literal (``kind`` says which)."""

    kind: str
    value: str


@dataclass(frozen=True)
class Member(Node):
    """``obj.name`` (or ``obj?.name``, or ``obj["name"]``)."""

    obj: Node
    name: str


@dataclass(frozen=True)
class Call(Node):
    """``callee(args...)``."""

    callee: Node
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Prop:
    """``key: value`` in an object literal (shorthand ``key`` has an Ident value)."""

    key: str
    value: Node


@dataclass(frozen=True)
class Spread(Node):
    """``...expr`` inside an object or array literal, or a call's arguments."""

    expr: Node


@dataclass(frozen=True)
class Obj(Node):
    """An object literal: properties and spreads in source order."""

    entries: tuple[Prop | Spread, ...]


@dataclass(frozen=True)
class Arr(Node):
    """An array literal."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Opaque(Node):
    """An expression this parser reads past without understanding (arrow function, operator, ...)."""

    reason: str


@dataclass
class Module:
    """One parsed file: its imports, top-level bindings, exports and default export."""

    source: str
    text: str
    imports: dict[str, tuple[str, str]] = field(default_factory=dict)
    bindings: dict[str, Node] = field(default_factory=dict)
    exports: dict[str, str] = field(default_factory=dict)
    reexports: dict[str, tuple[str, str]] = field(default_factory=dict)
    default: Node | None = None

    def snippet(self, node: Node, limit: int = 80) -> str:
        """The source text of ``node`` on one line, shortened to ``limit`` characters."""
        text = " ".join(self.text[node.start : node.end].split())
        return text if len(text) <= limit else text[: limit - 1] + "…"


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
