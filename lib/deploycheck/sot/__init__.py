"""The source-of-truth table: the model (:mod:`.model`), the parser (:mod:`.parse`), the
rules it must meet (:mod:`.rules`), and its secrets taught to the redactor
(:mod:`.secrets`).
"""

from __future__ import annotations

from deploycheck.sot.crypt import PAD, PREFIX, Keyring, is_sealed, open_entries, seal
from deploycheck.sot.edit import (
    Cell,
    open_table,
    recipients_for,
    rewrite_cells,
    seal_table,
    set_value,
)
from deploycheck.sot.model import (
    PLAIN_PREFIXES,
    SECRET_SUFFIXES,
    SECRET_WORDS,
    Column,
    Entry,
    SourceOfTruth,
    is_secret_name,
)
from deploycheck.sot.parse import COLUMNS, load_sot, parse_sot, sot_from_text, split_row
from deploycheck.sot.rules import (
    PlatformLimits,
    count_problems,
    dev_markers,
    limits_of,
    validate,
)
from deploycheck.sot.secrets import register_run_secrets

__all__ = [
    "COLUMNS",
    "PAD",
    "PLAIN_PREFIXES",
    "PREFIX",
    "SECRET_SUFFIXES",
    "SECRET_WORDS",
    "Cell",
    "Column",
    "Entry",
    "Keyring",
    "PlatformLimits",
    "SourceOfTruth",
    "count_problems",
    "dev_markers",
    "is_sealed",
    "is_secret_name",
    "limits_of",
    "load_sot",
    "open_entries",
    "open_table",
    "parse_sot",
    "recipients_for",
    "register_run_secrets",
    "rewrite_cells",
    "seal",
    "seal_table",
    "set_value",
    "sot_from_text",
    "split_row",
    "validate",
]
