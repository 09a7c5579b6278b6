"""Recording WARN outcomes without importing pytest.

:func:`warn` appends a message to the warnings of the check running in this thread;
the pytest plugin collects them after each test and turns a passing check into WARN.
Outside a check (plain library use) a warning is kept until :func:`take_warnings`.
"""

from __future__ import annotations

import threading

__all__ = ["take_warnings", "warn"]

_local = threading.local()


def _bucket() -> list[str]:
    bucket: list[str] | None = getattr(_local, "warnings", None)
    if bucket is None:
        bucket = []
        _local.warnings = bucket
    return bucket


def warn(message: str) -> None:
    """Record a warning for the running check: it reports WARN (exit code stays 0)."""
    from deploycheck.redact import redact

    _bucket().append(redact(str(message)))


def take_warnings() -> list[str]:
    """Return and clear the warnings recorded in this thread."""
    bucket = _bucket()
    taken = list(bucket)
    bucket.clear()
    return taken
