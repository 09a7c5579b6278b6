"""Convex: the deployment adapter over the HTTP API (:mod:`.adapter`) and the sync-protocol
client the CLI's system queries use (:mod:`.sync`).
"""

from __future__ import annotations

from deploycheck.platforms.convex import adapter as _adapter
from deploycheck.platforms.convex import sync as _sync
from deploycheck.platforms.convex.adapter import *  # noqa: F403
from deploycheck.platforms.convex.sync import *  # noqa: F403

__all__ = _adapter.__all__ + _sync.__all__
