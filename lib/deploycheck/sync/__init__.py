"""``sync-env``: the whole operation (:func:`run`, in :mod:`.operation`), plans per target
(:mod:`.plan`), the request and report (:mod:`.model`), and the syncer that applies them
(:mod:`.run`).
"""

from __future__ import annotations

from deploycheck.sync import audit as _audit
from deploycheck.sync import local as _local
from deploycheck.sync import model as _model
from deploycheck.sync import operation as _operation
from deploycheck.sync import plan as _plan
from deploycheck.sync import run as _run
from deploycheck.sync.audit import *  # noqa: F403
from deploycheck.sync.local import *  # noqa: F403
from deploycheck.sync.model import *  # noqa: F403
from deploycheck.sync.operation import *  # noqa: F403
from deploycheck.sync.plan import *  # noqa: F403
from deploycheck.sync.run import *  # noqa: F403

__all__ = _audit.__all__ + _local.__all__ + _model.__all__ + _operation.__all__ + _plan.__all__ + _run.__all__
