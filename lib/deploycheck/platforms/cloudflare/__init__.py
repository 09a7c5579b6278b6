"""Cloudflare's v4 API shared by Workers and Pages (:mod:`.api`), and the two adapters
(:mod:`.worker`, :mod:`.pages`).
"""

from __future__ import annotations

from deploycheck.platforms.cloudflare import api as _api
from deploycheck.platforms.cloudflare import pages as _pages
from deploycheck.platforms.cloudflare import worker as _worker
from deploycheck.platforms.cloudflare.api import *  # noqa: F403
from deploycheck.platforms.cloudflare.pages import *  # noqa: F403
from deploycheck.platforms.cloudflare.worker import *  # noqa: F403

__all__ = _api.__all__ + _pages.__all__ + _worker.__all__
