"""The Convex deployment emulator (:mod:`.deployment`), its environment variables
(:mod:`.env`) and function specs (:mod:`.functions`).
"""

from __future__ import annotations

from deploycheck.sandbox.convex import deploy2 as _deploy2
from deploycheck.sandbox.convex import deployment as _deployment
from deploycheck.sandbox.convex import env as _env
from deploycheck.sandbox.convex import functions as _functions
from deploycheck.sandbox.convex import push as _push
from deploycheck.sandbox.convex import schema as _schema
from deploycheck.sandbox.convex import sync as _sync
from deploycheck.sandbox.convex.deploy2 import *  # noqa: F403
from deploycheck.sandbox.convex.deployment import *  # noqa: F403
from deploycheck.sandbox.convex.env import *  # noqa: F403
from deploycheck.sandbox.convex.functions import *  # noqa: F403
from deploycheck.sandbox.convex.push import *  # noqa: F403
from deploycheck.sandbox.convex.schema import *  # noqa: F403
from deploycheck.sandbox.convex.sync import *  # noqa: F403

__all__ = (
    _deploy2.__all__
    + _deployment.__all__
    + _env.__all__
    + _functions.__all__
    + _push.__all__
    + _schema.__all__
    + _sync.__all__
)
