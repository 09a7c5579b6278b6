"""The GitHub REST API emulator (:mod:`.api`) and its storage (:mod:`.store`)."""

from __future__ import annotations

from deploycheck.sandbox.github.api import GithubEmulator
from deploycheck.sandbox.github.store import (
    MAX_VALUE_BYTES,
    Entry,
    LogicalClock,
    Scope,
    link_header,
    name_problem,
    page_slice,
)

__all__ = [
    "MAX_VALUE_BYTES",
    "Entry",
    "GithubEmulator",
    "LogicalClock",
    "Scope",
    "link_header",
    "name_problem",
    "page_slice",
]
