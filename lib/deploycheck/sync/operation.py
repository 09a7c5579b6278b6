"""One whole sync: :func:`run` holds the lock, keys the ledger, plans, confirms, applies, audits.

The command line (``deploycheck sync-env``) and the embedded sandbox of a verification run
both call :func:`run` with the resolved :class:`~deploycheck.config.Environment`, the loaded
table and the state backend; they differ only in the callbacks they pass: ``show_plan``
renders the plan before anything is written, ``confirm`` may refuse it (the report then
says ``declined`` and nothing is written), ``warn`` prints a warning.

Order (each step before the next can write anything):

1. open every target's adapter (a missing credential is an InputError here);
2. bind the targets' identities in the ledger and check the ledger key;
3. a dry run plans without the lock and returns;
4. otherwise, under the project lock: warn of earlier runs killed mid-write, create the key
   if needed, plan again against the locked ledger, show and confirm, then apply with the
   audit log written ahead (:func:`deploycheck.sync.audit.apply_with_audit`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from deploycheck.redact import fingerprint, set_fingerprint_key
from deploycheck.state import DEFAULT_LOCK_TIMEOUT, guard_adapters, prepare_ledger
from deploycheck.sync.audit import apply_with_audit, unfinished_runs
from deploycheck.sync.model import Mode, SyncReport, SyncRequest
from deploycheck.sync.run import Opener, Syncer

if TYPE_CHECKING:
    from deploycheck.config import Environment, ProjectConfig
    from deploycheck.sot import SourceOfTruth
    from deploycheck.state import StateBackend

__all__ = ["run"]


def _killed_warning(killed: dict[str, object]) -> str:
    return (
        f"the sync of {killed.get('time', '?')} (run {killed['run_id']}) ended without a "
        "completion record (killed?); writes it made may be unrecorded, so this run rewrites "
        "every key the ledger cannot vouch for."
    )


def _prepare(store: StateBackend, syncer: Syncer, key: bytes | None, *, locked: bool) -> None:
    """Bind identities and check the key in the syncer's ledger; under the lock, guard its writes."""
    if syncer.request.mode == "local":
        return
    prepare_ledger(store, syncer.ledger, syncer.request.env, syncer.adapters, key)
    if locked:
        guard_adapters(store, syncer.adapters)


def run(
    config: ProjectConfig,
    env: Environment,
    sot: SourceOfTruth,
    store: StateBackend,
    *,
    mode: Mode,
    dry_run: bool = False,
    only: tuple[str, ...] = (),
    targets: tuple[str, ...] = (),
    prune: bool = False,
    force: bool = False,
    remove: tuple[str, ...] = (),
    lock_timeout: float | None = None,
    purpose: str | None = None,
    show_plan: Callable[[SyncReport], None] | None = None,
    confirm: Callable[[SyncReport], bool] | None = None,
    warn: Callable[[str], None] | None = None,
    keyed_output: bool = True,
    opener: Opener | None = None,
) -> SyncReport:
    """Sync ``sot`` to the targets of ``env`` (see the module docstring); return the report.

    ``mode`` picks the value column and whether local files or platforms are written;
    ``only``, ``targets``, ``prune``, ``force`` and ``remove`` narrow and widen it as ``sync-env``'s
    options do. ``confirm`` is asked only for a ``deploy-prod`` run that writes something.
    ``keyed_output`` makes every fingerprint this process prints use the ledger key, so
    the plan shows what the ledger records; a verification run keeps its own key.
    """
    request = SyncRequest(
        mode=mode,
        env=env.name,
        dry_run=dry_run,
        only=only,
        targets=targets,
        prune=prune,
        force=force,
        remove=remove,
    )
    key = store.key(create=False)
    syncer = Syncer(
        config, sot, request, ledger=store.ledger(), key_fp=lambda v: fingerprint(v, key), opener=opener
    )
    _prepare(store, syncer, key, locked=False)
    if dry_run:
        if keyed_output:
            set_fingerprint_key(key)
        report = syncer.plan()
        if show_plan is not None:
            show_plan(report)
        return report
    timeout = DEFAULT_LOCK_TIMEOUT if lock_timeout is None else lock_timeout
    with store.lock(timeout, purpose=purpose or f"sync-env {mode} {env.name}"):
        for killed in unfinished_runs(store, env=env.name):
            if warn is not None:
                warn(_killed_warning(killed))
        locked_key = store.key(create=True)
        if keyed_output:
            set_fingerprint_key(locked_key)
        syncer.key_fp = lambda v: fingerprint(v, locked_key)
        syncer.ledger = store.ledger()
        _prepare(store, syncer, locked_key, locked=True)
        report = syncer.plan()
        if show_plan is not None:
            show_plan(report)
        if report.writes and mode == "deploy-prod" and confirm is not None and not confirm(report):
            report.declined = True
            return report
        apply_with_audit(syncer, report, store)
    return report
