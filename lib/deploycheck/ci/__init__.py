"""deploycheck inside GitHub Actions: running one command with the step summary and outputs
(:mod:`.actions`), and the drift issue (:mod:`.issue`).
"""

from __future__ import annotations

from deploycheck.ci import actions as _actions
from deploycheck.ci import issue as _issue
from deploycheck.ci.actions import *  # noqa: F403
from deploycheck.ci.issue import *  # noqa: F403

__all__ = _actions.__all__ + _issue.__all__
