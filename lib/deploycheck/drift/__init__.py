"""Drift detection: findings and reports (:mod:`.model`), the comparison rules
(:mod:`.compare`), the run (:mod:`.run`), rendering (:mod:`.render`) and the baseline
(:mod:`.baseline`).
"""

from __future__ import annotations

from deploycheck.drift import baseline as _baseline
from deploycheck.drift import compare as _compare
from deploycheck.drift import model as _model
from deploycheck.drift import render as _render
from deploycheck.drift import run as _run
from deploycheck.drift.baseline import *  # noqa: F403
from deploycheck.drift.compare import *  # noqa: F403
from deploycheck.drift.model import *  # noqa: F403
from deploycheck.drift.render import *  # noqa: F403
from deploycheck.drift.run import *  # noqa: F403

__all__ = _baseline.__all__ + _compare.__all__ + _model.__all__ + _render.__all__ + _run.__all__
