"""What a sync does with its state backend before and while it writes.

:func:`prepare_ledger` binds each target's resource identity in the ledger and checks the
ledger key (a missing or wrong key is an input error, not drift). :func:`guard_adapters`
wraps each adapter so that every ``apply_config`` first renews the backend's lock: with
the ``s3`` backend a sync whose lock was lost or broken stops before its next write
instead of writing unlocked.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from typing import TYPE_CHECKING

from deploycheck.errors import InputError, Problem
from deploycheck.state.backend import bind_identities, check_ledger_key
from deploycheck.state.ledger import LEDGER_KEY_VARIABLE, key_id

if TYPE_CHECKING:
    from deploycheck.platforms.base import ApplyResult, ConfigPlatform, ConfigState, VarChange
    from deploycheck.state.backend import StateBackend
    from deploycheck.state.ledger import Ledger

__all__ = ["LockedAdapter", "guard_adapters", "no_ledger_key", "prepare_ledger", "require_shared_key"]


def no_ledger_key(message: str, hint: str) -> InputError:
    """The input error of a ledger key that is not set, or not the one the fingerprints need."""
    problem = Problem(source=LEDGER_KEY_VARIABLE, message=message, hint=hint)
    return InputError([problem], title="no ledger key")


def require_shared_key(store: StateBackend, key: bytes | None) -> bytes:
    """``key``, or InputError when a shared backend has none (it can never make one up)."""
    if key is not None:
        return key
    msg = (
        f"the {store.backend} state backend ({store.describe()}) needs the team's ledger key in "
        f"{LEDGER_KEY_VARIABLE}; it is never stored in the bucket."
    )
    hint = (
        f"Set {LEDGER_KEY_VARIABLE} (64 hex characters; the first machine generates it with "
        "`openssl rand -hex 32`) on every machine and CI job that syncs or checks drift."
    )
    raise no_ledger_key(msg, hint)


def prepare_ledger(
    store: StateBackend,
    ledger: Ledger,
    env: str,
    adapters: Mapping[str, ConfigPlatform],
    key: bytes | None,
) -> None:
    """Bind resource identities for ``env`` and check ``key`` against the ledger's key id."""
    shared = store.backend != "local"
    if shared:
        key = require_shared_key(store, key)
    check_ledger_key(ledger, key, store.describe(), required=shared)
    if key is not None and ledger.key_id is None:
        ledger.key_id = key_id(key)
    bind_identities(ledger, env, adapters)


class LockedAdapter:
    """An adapter whose writes each renew the backend's lock first (see the module docstring)."""

    def __init__(self, adapter: ConfigPlatform, store: StateBackend) -> None:
        self.adapter = adapter
        self.store = store
        self.platform = adapter.platform
        self.resource = adapter.resource

    def read_config(self) -> ConfigState:
        """The wrapped adapter's :meth:`read_config`."""
        return self.adapter.read_config()

    def apply_config(self, changes: Sequence[VarChange]) -> ApplyResult:
        """Renew the lock (LockError when it is lost), then apply ``changes``."""
        ensure = getattr(self.store, "ensure_locked", None)
        if ensure is not None:
            ensure()
        return self.adapter.apply_config(changes)


def guard_adapters(store: StateBackend, adapters: MutableMapping[str, ConfigPlatform]) -> None:
    """Wrap every adapter in :class:`LockedAdapter` when the backend's lock can be lost."""
    if store.backend == "local":
        return  # an fcntl lock is held until this process ends
    for name, adapter in list(adapters.items()):
        adapters[name] = LockedAdapter(adapter, store)
