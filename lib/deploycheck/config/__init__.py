"""deploycheck.yaml loaded and validated (:mod:`.model`), its problems with lines
(:mod:`.problems`), and the named settings of a run (:mod:`.settings`).
"""

from __future__ import annotations

from deploycheck.config import model as _model
from deploycheck.config import problems as _problems
from deploycheck.config import settings as _settings
from deploycheck.config.model import *  # noqa: F403
from deploycheck.config.problems import *  # noqa: F403
from deploycheck.config.settings import *  # noqa: F403

__all__ = _model.__all__ + _problems.__all__ + _settings.__all__
