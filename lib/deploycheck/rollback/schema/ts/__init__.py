"""The TypeScript subset of ``schema.ts`` files: tokens (:mod:`.lex`, :mod:`.stream`),
expressions (:mod:`.expr`), trees (:mod:`.ast`) and the parser (:mod:`.parse`).
"""

from __future__ import annotations

from deploycheck.rollback.schema.ts.ast import (
    Arr,
    Arrow,
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
from deploycheck.rollback.schema.ts.expr import ExpressionParser
from deploycheck.rollback.schema.ts.lex import ParseError, Token, tokenize
from deploycheck.rollback.schema.ts.parse import parse_module
from deploycheck.rollback.schema.ts.stream import STATEMENT_KEYWORDS, TokenStream

__all__ = [
    "STATEMENT_KEYWORDS",
    "Arr",
    "Arrow",
    "Call",
    "ExpressionParser",
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
    "TokenStream",
    "parse_module",
    "tokenize",
]
