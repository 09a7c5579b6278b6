"""HTTP for every platform adapter: the client (:mod:`.client`), retry and backoff
(:mod:`.retry`), error mapping (:mod:`.errors`), settings and guards (:mod:`.settings`).
"""

from __future__ import annotations

from deploycheck.http.client import HttpClient
from deploycheck.http.errors import (
    Classifier,
    ErrorParser,
    Hinter,
    default_hint,
    default_parse_error,
    error_for_status,
    no_hint,
)
from deploycheck.http.retry import (
    BACKOFF_BASE,
    BACKOFF_MAX,
    IDEMPOTENT_METHODS,
    backoff_wait,
    exhausted_error,
    nothing_sent,
    parse_retry_after,
    rate_limit_wait,
)
from deploycheck.http.settings import (
    HttpSettings,
    check_base_url,
    is_loopback,
    require_credentials,
)

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_MAX",
    "IDEMPOTENT_METHODS",
    "Classifier",
    "ErrorParser",
    "Hinter",
    "HttpClient",
    "HttpSettings",
    "backoff_wait",
    "check_base_url",
    "default_hint",
    "default_parse_error",
    "error_for_status",
    "exhausted_error",
    "is_loopback",
    "no_hint",
    "nothing_sent",
    "parse_retry_after",
    "rate_limit_wait",
    "require_credentials",
]
