"""Verification: the run's session (:mod:`.session`), platform reads (:mod:`.state`,
:mod:`.reads`, :mod:`.views`), data-plane probes (:mod:`.probes`), what checks decide
(:mod:`.checkers`, :mod:`.config_checks`, :mod:`.chains`), targets (:mod:`.targets`) and
the checks as a command (:mod:`.command`).
"""

from __future__ import annotations

from deploycheck.verify import chains as _chains
from deploycheck.verify import checkers as _checkers
from deploycheck.verify import checkout as _checkout
from deploycheck.verify import command as _command
from deploycheck.verify import config_checks as _config_checks
from deploycheck.verify import probes as _probes
from deploycheck.verify import reads as _reads
from deploycheck.verify import session as _session
from deploycheck.verify import state as _state
from deploycheck.verify import targets as _targets
from deploycheck.verify import views as _views
from deploycheck.verify.chains import *  # noqa: F403
from deploycheck.verify.checkers import *  # noqa: F403
from deploycheck.verify.checkout import *  # noqa: F403
from deploycheck.verify.command import *  # noqa: F403
from deploycheck.verify.config_checks import *  # noqa: F403
from deploycheck.verify.probes import *  # noqa: F403
from deploycheck.verify.reads import *  # noqa: F403
from deploycheck.verify.session import *  # noqa: F403
from deploycheck.verify.state import *  # noqa: F403
from deploycheck.verify.targets import *  # noqa: F403
from deploycheck.verify.views import *  # noqa: F403

__all__ = (
    _chains.__all__
    + _checkers.__all__
    + _checkout.__all__
    + _command.__all__
    + _config_checks.__all__
    + _probes.__all__
    + _reads.__all__
    + _session.__all__
    + _state.__all__
    + _targets.__all__
    + _views.__all__
)
