"""Convex: the deployment adapter over the HTTP API (:mod:`.adapter`) and the sync-protocol
client the CLI's system queries use (:mod:`.sync`).
"""

from __future__ import annotations

from deploycheck.platforms.convex.adapter import (
    ConvexPlatform,
    deployment_name_of_key,
    normalize_function_id,
)

__all__ = [
    "ConvexPlatform",
    "deployment_name_of_key",
    "normalize_function_id",
]
