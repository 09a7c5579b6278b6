"""deploycheck: deployment verification, configuration sync and drift detection.

Checks are pytest tests; inside one, :func:`warn` records a warning (the check reports
WARN instead of PASS) and :func:`fingerprint` compares secrets without showing them::

    import deploycheck

    def test_worker_is_healthy(worker_health):
        if worker_health.status == "degraded":
            deploycheck.warn(f"worker degraded: {worker_health.reason}")
        assert worker_health.status != "unhealthy", worker_health.reason
"""

from __future__ import annotations

from deploycheck.errors import (
    ConfigError,
    DeploycheckError,
    InputError,
    PlatformError,
    SoTError,
)
from deploycheck.redact import fingerprint, redact, register_secret
from deploycheck.warnings import warn

__all__ = [
    "ConfigError",
    "DeploycheckError",
    "InputError",
    "PlatformError",
    "SoTError",
    "__version__",
    "fingerprint",
    "redact",
    "register_secret",
    "warn",
]

__version__ = "0.1.0"
