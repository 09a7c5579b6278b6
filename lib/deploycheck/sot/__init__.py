"""The source-of-truth table: the model (:mod:`.model`), the parser (:mod:`.parse`), the
rules it must meet (:mod:`.rules`), and its secrets taught to the redactor
(:mod:`.secrets`).
"""

from __future__ import annotations

from deploycheck.sot.model import (
    PLAIN_PREFIXES,
    SECRET_SUFFIXES,
    SECRET_WORDS,
    Column,
    Entry,
    SourceOfTruth,
    is_secret_name,
)
from deploycheck.sot.parse import COLUMNS, load_sot, parse_sot, split_row
from deploycheck.sot.rules import PlatformLimits, dev_markers, limits_of, validate
from deploycheck.sot.secrets import register_run_secrets

__all__ = [
    "COLUMNS",
    "PLAIN_PREFIXES",
    "SECRET_SUFFIXES",
    "SECRET_WORDS",
    "Column",
    "Entry",
    "PlatformLimits",
    "SourceOfTruth",
    "dev_markers",
    "is_secret_name",
    "limits_of",
    "load_sot",
    "parse_sot",
    "register_run_secrets",
    "split_row",
    "validate",
]
