"""Where deploycheck's state lives: one interface, a local and an S3 implementation.

``state.backend`` in deploycheck.yaml picks the backend:

- ``local`` (the default): :class:`deploycheck.state.ledger.StateStore`, files in the state dir
  and an ``fcntl`` lock. Fits one person on one machine.
- ``s3``: :class:`deploycheck.state.s3.S3StateStore`, objects in an S3-compatible bucket
  (AWS S3, Cloudflare R2, MinIO) and a lock taken with conditional writes. Fits a team
  and its CI: every machine sees the same ledger, and two machines never sync at once.

Either way the ledger key is the same on every machine that must compare fingerprints:
``DEPLOYCHECK_LEDGER_KEY`` (64 hex characters, a CI secret) for ``s3``, where it is never
stored in the bucket; the key file in the state dir for ``local`` unless that variable is
set. The ledger records a public key id (:func:`deploycheck.state.ledger.key_id`) so that a
missing or wrong key is reported as such, never as drift.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from deploycheck.errors import DeploycheckError, InputError, Problem
from deploycheck.state.ledger import LEDGER_KEY_VARIABLE, Ledger, key_id

if TYPE_CHECKING:
    from deploycheck.config import ProjectConfig
    from deploycheck.platforms.base import ConfigPlatform

__all__ = [
    "StateBackend",
    "bind_identities",
    "check_ledger_key",
    "describe_resource",
    "move_target_marker",
    "open_state",
    "resource_identity",
]



class StateBackend(Protocol):
    """What the operations need of a state backend: key, ledger, lock and audit log."""

    @property
    def backend(self) -> str:
        """``local`` or ``s3``."""
        ...

    @property
    def project(self) -> str:
        """The project's name."""
        ...

    @property
    def root(self) -> Path | None:
        """The project's folder (for the git commit in audit events)."""
        ...

    def describe(self) -> str:
        """Where the state lives (a folder, ``s3://bucket/prefix``), for messages."""
        ...

    def key(self, *, create: bool = True) -> bytes | None:
        """The ledger key, or None when there is none (and ``create`` is false or impossible)."""
        ...

    def ledger(self) -> Ledger:
        """The current ledger; its :meth:`Ledger.save` writes back to this backend."""
        ...

    def lock(self, timeout: float = ..., *, purpose: str = "sync") -> AbstractContextManager[None]:
        """Hold the project lock for the ``with`` block; LockError naming the holder after ``timeout``."""
        ...

    def append_audit(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Append one audit event (time, actor and commit added) and return it."""
        ...

    def read_audit(self) -> list[dict[str, Any]]:
        """Every audit event, oldest first."""
        ...

    def unlock(self, *, force: bool) -> str:
        """Break a stale lock (recorded in the audit log); a sentence saying what was done."""
        ...


def open_state(
    config: ProjectConfig,
    sot_path: Path,
    override: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    backend: str | None = None,
) -> StateBackend:
    """The state backend ``config`` names (``state.backend``), ready to use.

    ``override`` is ``--state-dir``: the local folder (also the local backend's), which
    an ``s3`` backend ignores. ``backend`` forces one (``sync-env --mode=local`` uses
    ``local``: it writes this machine's files only).
    """
    from deploycheck.state.ledger import StateStore

    env = os.environ if environ is None else environ
    backend = (backend or env.get("DEPLOYCHECK_STATE_BACKEND") or config.state.backend).strip()
    if backend == "s3":
        from deploycheck.state.s3 import S3StateStore

        return S3StateStore.for_project(config, env)
    if backend != "local":
        raise InputError(
            [
                Problem(
                    source="DEPLOYCHECK_STATE_BACKEND",
                    message=f"{backend!r} is not a state backend; valid: local, s3.",
                    hint="Unset it to use state.backend from deploycheck.yaml.",
                )
            ]
        )
    return StateStore.for_project(config, sot_path, override, env)


def check_ledger_key(ledger: Ledger, key: bytes | None, where: str, *, required: bool) -> None:
    """InputError when ``key`` is not the key ``ledger``'s fingerprints were made with.

    ``required``: a missing key is an error too (a shared backend cannot make one up).
    Fingerprints made with another key would all look like drift; this tells the two apart.
    """
    if key is None:
        if required and not ledger.is_empty():
            msg = (
                f"the ledger in {where} holds fingerprints made with the ledger key {ledger.key_id or '?'}, "
                f"and {LEDGER_KEY_VARIABLE} is not set: write-only secrets cannot be compared."
            )
            hint = f"Set {LEDGER_KEY_VARIABLE} to the team's ledger key (a CI secret), then run again."
            raise _key_error(msg, hint, "no ledger key")
        return
    given = key_id(key)
    if ledger.key_id and ledger.key_id != given:
        msg = (
            f"the ledger in {where} was written with the ledger key {ledger.key_id}, but the key given has "
            f"id {given}: it is not the team's key, so no fingerprint could match (this is not drift)."
        )
        hint = f"Set {LEDGER_KEY_VARIABLE} to the key the ledger was written with."
        raise _key_error(msg, hint, "wrong ledger key")


def _key_error(message: str, hint: str, title: str) -> InputError:
    """The InputError of a ledger key that does not fit the ledger (its variable is the source)."""
    return InputError([Problem(source=LEDGER_KEY_VARIABLE, message=message, hint=hint)], title=title)


def describe_resource(adapter: ConfigPlatform) -> str:
    """The platform resource an adapter talks to: platform, base URL, account and resource.

    For example ``cloudflare-worker https://api.cloudflare.com/client/v4 account=abc
    log-ingestion``.
    """
    api = getattr(adapter, "api", None)
    client = getattr(adapter, "client", None) or getattr(api, "client", None)
    parts = [adapter.platform]
    base = getattr(client, "base_url", None)
    if base:
        parts.append(str(base).rstrip("/"))
    account = getattr(api, "account_id", None)
    if account:
        parts.append(f"account={account}")
    parts.append(adapter.resource)
    return " ".join(parts)


def resource_identity(adapter: ConfigPlatform) -> str:
    """The ledger's name of the resource an adapter talks to: ``r-`` and 16 hex digits.

    A digest of :func:`describe_resource`, so that the ledger holds no configured name
    (a Convex deployment name is often a value of the table too). Two environments, or one
    environment before and after it moved to another account or sandbox, with different
    resources never share ledger entries.
    """
    digest = hashlib.sha256(describe_resource(adapter).encode("utf-8")).hexdigest()
    return f"r-{digest[:16]}"


def bind_identities(ledger: Ledger, env: str, adapters: Mapping[str, ConfigPlatform]) -> None:
    """Bind each target's resource identity (from its adapter) in ``ledger`` for ``env``."""
    for target, adapter in adapters.items():
        ledger.bind(env, target, resource_identity(adapter))


def move_target_marker(
    ledger: Ledger,
    env: str,
    target: str,
    adapter: ConfigPlatform,
    after: str,
    *,
    may_move: Callable[[str | None], bool],
) -> bool:
    """Move ``target``'s change marker in ``ledger`` to ``after`` and save the ledger, when
    ``may_move`` (given the marker the ledger recorded) says the move changed code only.

    The target's resource identity is bound first (the ledger keys markers by it). A
    DeploycheckError while binding or deciding leaves the marker, so drift reports.
    Returns whether the marker moved.
    """
    try:
        bind_identities(ledger, env, {target: adapter})
        if not may_move(ledger.target_marker(env, target)):
            return False
    except DeploycheckError:
        return False
    ledger.set_target_marker(env, target, after)
    ledger.save()
    return True
