"""The expression trees and module record produced by :mod:`deploycheck.rollback.schema.ts.parse`."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Arr", "Arrow", "Call", "Ident", "Literal", "Member", "Module", "Node", "Obj", "Opaque", "Prop", "Spread",
]


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
    """``key: value`` in an object literal (shorthand ``key`` has an Ident value).

    For a computed key (``[CURRENCIES.USD]: v.number()``) ``computed`` is the key's
    expression and ``key`` its source text.
    """

    key: str
    value: Node
    computed: Node | None = None


@dataclass(frozen=True)
class Arrow(Node):
    """A function whose body is one expression: ``(a, b) => expr``, ``function f(a) { return expr; }``."""

    params: tuple[str, ...]
    body: Node


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
