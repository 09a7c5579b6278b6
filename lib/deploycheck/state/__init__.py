"""What deploycheck remembers between runs: the ledger, the audit log, the lock and the key
(:mod:`.ledger`).
"""

from __future__ import annotations

from deploycheck.state.ledger import (
    KEY_BYTES,
    Ledger,
    LedgerEntry,
    StateStore,
    append_audit,
    now,
)

__all__ = [
    "KEY_BYTES",
    "Ledger",
    "LedgerEntry",
    "StateStore",
    "append_audit",
    "now",
]
