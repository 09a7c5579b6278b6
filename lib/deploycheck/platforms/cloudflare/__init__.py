"""Cloudflare's v4 API shared by Workers and Pages (:mod:`.api`), and the two adapters
(:mod:`.worker`, :mod:`.pages`).
"""

from __future__ import annotations

from deploycheck.platforms.cloudflare.api import (
    DEFAULT_BASE_URL,
    CloudflareApi,
    classify_cloudflare,
    cloudflare_api,
    parse_cloudflare_error,
)
from deploycheck.platforms.cloudflare.pages import CloudflarePagesPlatform
from deploycheck.platforms.cloudflare.worker import CloudflareWorkerPlatform, WorkerVersion

__all__ = [
    "DEFAULT_BASE_URL",
    "CloudflareApi",
    "CloudflarePagesPlatform",
    "CloudflareWorkerPlatform",
    "WorkerVersion",
    "classify_cloudflare",
    "cloudflare_api",
    "parse_cloudflare_error",
]
