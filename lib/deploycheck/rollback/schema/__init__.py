"""The Convex schema guard: schemas as data (:mod:`.model`, :mod:`.read`), their differences
(:mod:`.diff`), and the guard over two git refs (:mod:`.guard`).
"""

from __future__ import annotations

from deploycheck.rollback.schema import builders as _builders
from deploycheck.rollback.schema import diff as _diff
from deploycheck.rollback.schema import digest as _digest
from deploycheck.rollback.schema import evaluate as _evaluate
from deploycheck.rollback.schema import guard as _guard
from deploycheck.rollback.schema import lockfile as _lockfile
from deploycheck.rollback.schema import model as _model
from deploycheck.rollback.schema import read as _read
from deploycheck.rollback.schema import values as _values
from deploycheck.rollback.schema.builders import *  # noqa: F403
from deploycheck.rollback.schema.diff import *  # noqa: F403
from deploycheck.rollback.schema.digest import *  # noqa: F403
from deploycheck.rollback.schema.evaluate import *  # noqa: F403
from deploycheck.rollback.schema.guard import *  # noqa: F403
from deploycheck.rollback.schema.lockfile import *  # noqa: F403
from deploycheck.rollback.schema.model import *  # noqa: F403
from deploycheck.rollback.schema.read import *  # noqa: F403
from deploycheck.rollback.schema.values import *  # noqa: F403

__all__ = (
    _builders.__all__
    + _diff.__all__
    + _digest.__all__
    + _evaluate.__all__
    + _guard.__all__
    + _lockfile.__all__
    + _model.__all__
    + _read.__all__
    + _values.__all__
)
