"""Rollback: the decision matrix, platform-specific rollbacks, and the Convex schema guard.

- :mod:`~deploycheck.rollback.matrix`: severity and impact -> action and timeline.
- :mod:`~deploycheck.rollback.tslex`, :mod:`~deploycheck.rollback.tsstream`,
  :mod:`~deploycheck.rollback.tsexpr`, :mod:`~deploycheck.rollback.tsparse`: the TypeScript
  subset of ``schema.ts`` tokenized and parsed.
- :mod:`~deploycheck.rollback.schema_model`, :mod:`~deploycheck.rollback.schema`,
  :mod:`~deploycheck.rollback.schemadiff`: the Convex schema evaluated and compared.
- :mod:`~deploycheck.rollback.guard`: the schema guard over two git refs.
- :mod:`~deploycheck.rollback.steps`: what each platform's rollback reverts, and how it runs.
- :mod:`~deploycheck.rollback.run`, :mod:`~deploycheck.rollback.advise`: the commands.
"""

from __future__ import annotations

__all__: list[str] = []
