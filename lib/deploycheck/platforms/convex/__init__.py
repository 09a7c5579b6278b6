"""Convex: the deployment adapter over the HTTP API (:mod:`.adapter`) and the sync-protocol
client the CLI's system queries use (:mod:`.sync`).
"""

from __future__ import annotations

from deploycheck.platforms.convex.adapter import (
    ConvexPlatform,
    deployment_name_of_key,
    normalize_function_id,
)
from deploycheck.platforms.convex.sync import CLIENT_VERSION, run_system_query

__all__ = [
    "CLIENT_VERSION",
    "ConvexPlatform",
    "deployment_name_of_key",
    "normalize_function_id",
    "run_system_query",
]
