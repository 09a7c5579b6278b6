"""Check outcomes, ``results.json`` and run summaries (:mod:`.results`), and merging the
reports of sharded runs (:mod:`.merge`).
"""

from __future__ import annotations

from deploycheck.report import dashboard as _dashboard
from deploycheck.report import merge as _merge
from deploycheck.report import results as _results
from deploycheck.report import rootcause as _rootcause
from deploycheck.report.dashboard import *  # noqa: F403
from deploycheck.report.merge import *  # noqa: F403
from deploycheck.report.results import *  # noqa: F403
from deploycheck.report.rootcause import *  # noqa: F403

__all__ = _dashboard.__all__ + _merge.__all__ + _results.__all__ + _rootcause.__all__
