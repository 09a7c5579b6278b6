"""Coordinated deploys: the plan (:mod:`.plan`), running one command (:mod:`.command`),
reading back what it produced (:mod:`.readback`), verification (:mod:`.verify`), the
report (:mod:`.render`) and the run (:mod:`.run`).
"""

from __future__ import annotations

from deploycheck.deploy import command as _command
from deploycheck.deploy import environ as _environ
from deploycheck.deploy import plan as _plan
from deploycheck.deploy import readback as _readback
from deploycheck.deploy import render as _render
from deploycheck.deploy import run as _run
from deploycheck.deploy import verify as _verify
from deploycheck.deploy.command import *  # noqa: F403
from deploycheck.deploy.environ import *  # noqa: F403
from deploycheck.deploy.plan import *  # noqa: F403
from deploycheck.deploy.readback import *  # noqa: F403
from deploycheck.deploy.render import *  # noqa: F403
from deploycheck.deploy.run import *  # noqa: F403
from deploycheck.deploy.verify import *  # noqa: F403

__all__ = (
    _command.__all__
    + _environ.__all__
    + _plan.__all__
    + _readback.__all__
    + _render.__all__
    + _run.__all__
    + _verify.__all__
)
