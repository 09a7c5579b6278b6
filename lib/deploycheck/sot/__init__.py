"""The source-of-truth table: the model (:mod:`.model`), the parser (:mod:`.parse`), the
rules it must meet (:mod:`.rules`), and its secrets taught to the redactor
(:mod:`.secrets`).
"""

from __future__ import annotations

from deploycheck.sot import crypt as _crypt
from deploycheck.sot import edit as _edit
from deploycheck.sot import model as _model
from deploycheck.sot import parse as _parse
from deploycheck.sot import rules as _rules
from deploycheck.sot import secrets as _secrets
from deploycheck.sot.crypt import *  # noqa: F403
from deploycheck.sot.edit import *  # noqa: F403
from deploycheck.sot.model import *  # noqa: F403
from deploycheck.sot.parse import *  # noqa: F403
from deploycheck.sot.rules import *  # noqa: F403
from deploycheck.sot.secrets import *  # noqa: F403

__all__ = _crypt.__all__ + _edit.__all__ + _model.__all__ + _parse.__all__ + _rules.__all__ + _secrets.__all__
