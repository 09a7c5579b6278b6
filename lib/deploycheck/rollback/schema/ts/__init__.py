"""The TypeScript subset of ``schema.ts`` files: tokens (:mod:`.lex`, :mod:`.stream`),
expressions (:mod:`.expr`), trees (:mod:`.ast`) and the parser (:mod:`.parse`).
"""

from __future__ import annotations

from deploycheck.rollback.schema.ts import ast as _ast
from deploycheck.rollback.schema.ts import expr as _expr
from deploycheck.rollback.schema.ts import lex as _lex
from deploycheck.rollback.schema.ts import parse as _parse
from deploycheck.rollback.schema.ts import stream as _stream
from deploycheck.rollback.schema.ts.ast import *  # noqa: F403
from deploycheck.rollback.schema.ts.expr import *  # noqa: F403
from deploycheck.rollback.schema.ts.lex import *  # noqa: F403
from deploycheck.rollback.schema.ts.parse import *  # noqa: F403
from deploycheck.rollback.schema.ts.stream import *  # noqa: F403

__all__ = _ast.__all__ + _expr.__all__ + _lex.__all__ + _parse.__all__ + _stream.__all__
