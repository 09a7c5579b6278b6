"""What deploycheck remembers between runs: the ledger, the audit log, the lock and the key
(:mod:`.ledger`).
"""

from __future__ import annotations

from deploycheck.state.backend import (
    StateBackend,
    bind_identities,
    check_ledger_key,
    describe_resource,
    move_target_marker,
    open_state,
    resource_identity,
)
from deploycheck.state.guard import (
    LockedAdapter,
    guard_adapters,
    prepare_ledger,
    require_shared_key,
)
from deploycheck.state.ledger import (
    DEFAULT_LOCK_TIMEOUT,
    KEY_BYTES,
    LEDGER_KEY_VARIABLE,
    Ledger,
    LedgerEntry,
    StateStore,
    append_audit,
    key_id,
    now,
    shared_ledger_key,
)
from deploycheck.state.s3 import LockLease, S3StateStore, lock_owner
from deploycheck.state.s3client import (
    BucketClient,
    Conflict,
    Missing,
    StoredObject,
    make_s3_client,
)

__all__ = [
    "DEFAULT_LOCK_TIMEOUT",
    "KEY_BYTES",
    "LEDGER_KEY_VARIABLE",
    "BucketClient",
    "Conflict",
    "Ledger",
    "LedgerEntry",
    "LockLease",
    "LockedAdapter",
    "Missing",
    "S3StateStore",
    "StateBackend",
    "StateStore",
    "StoredObject",
    "append_audit",
    "bind_identities",
    "check_ledger_key",
    "describe_resource",
    "guard_adapters",
    "key_id",
    "lock_owner",
    "make_s3_client",
    "move_target_marker",
    "now",
    "open_state",
    "prepare_ledger",
    "require_shared_key",
    "resource_identity",
    "shared_ledger_key",
]
