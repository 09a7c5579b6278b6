"""Rollback: the decision matrix, platform-specific rollbacks, and the Convex schema guard.

- :mod:`~deploycheck.rollback.matrix`: severity and impact -> action and timeline.
- :mod:`~deploycheck.rollback.schema.ts.lex`, :mod:`~deploycheck.rollback.schema.ts.stream`,
  :mod:`~deploycheck.rollback.schema.ts.expr`, :mod:`~deploycheck.rollback.schema.ts.parse`: the TypeScript
  subset of ``schema.ts`` tokenized and parsed.
- :mod:`~deploycheck.rollback.schema.model`, :mod:`~deploycheck.rollback.schema.read`
  (with :mod:`~deploycheck.rollback.schema.builders`, :mod:`~deploycheck.rollback.schema.values`,
  :mod:`~deploycheck.rollback.schema.digest`), :mod:`~deploycheck.rollback.schema.diff`: the
  Convex schema read statically and compared.
- :mod:`~deploycheck.rollback.schema.evaluate`, :mod:`~deploycheck.rollback.schema.lockfile`: the schema
  evaluated exactly in Node; the package versions a lockfile pins.
- :mod:`~deploycheck.rollback.schema.guard`: the schema guard over two git refs.
- :mod:`~deploycheck.rollback.steps`: what each platform's rollback reverts, and how it runs.
- :mod:`~deploycheck.rollback.targets`: the code rollback's target from the platform's history
  (the default); :mod:`~deploycheck.rollback.listing`: ``rollback list``.
- :mod:`~deploycheck.rollback.statesteps`, :mod:`~deploycheck.rollback.around`,
  :mod:`~deploycheck.rollback.report`: the state check and post-rollback actions of
  ``rollback.steps``, and the report of what changed and what did not.
- :mod:`~deploycheck.rollback.run`, :mod:`~deploycheck.rollback.advise`: the commands;
  :func:`run` is the rollback of a resolved environment.
"""

from __future__ import annotations

from deploycheck.rollback.run import RollbackOptions, roll_back, rollback_order, run

__all__ = ["RollbackOptions", "roll_back", "rollback_order", "run"]
