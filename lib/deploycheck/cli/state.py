"""``deploycheck state show|unlock|migrate``: the state backend (ledger, audit log, lock).

Examples::

    deploycheck state show                 # where the state lives, who holds the lock
    deploycheck state unlock --force       # break a stale lock (recorded in the audit log)
    deploycheck state migrate --to s3      # copy the local ledger and audit log to the bucket

Exit codes: 0 done, 1 the lock is held (``unlock`` without ``--force``), 2 bad input,
3 the bucket could not be reached.
"""

from __future__ import annotations

import argparse
from typing import Any

from deploycheck.cli.options import add_lock_timeout, add_project_options, load_project, lock_timeout

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """show, unlock or migrate, with the project options and ``--lock-timeout``."""
    parser.add_argument("action", choices=("show", "unlock", "migrate"), help="What to do")
    parser.add_argument("--force", action="store_true", help="unlock: break the lock even though it is held")
    parser.add_argument(
        "--to", choices=("s3",), default=None, help="migrate: the backend to copy the state to"
    )
    add_project_options(parser, env="Environment whose table locates the local state dir")
    add_lock_timeout(parser, "migrate: how long to wait for the lock")


def run(args: argparse.Namespace) -> int:
    """Show, unlock or migrate; see the module docstring."""
    from deploycheck.errors import UsageError
    from deploycheck.state import open_state

    config, _, sot_path = load_project(args)
    if args.action == "migrate":
        if args.to != "s3":
            raise UsageError("state migrate needs --to s3 (the backend to copy the local state to).")
        return _migrate(args, config, sot_path)
    store = open_state(config, sot_path, args.state_dir)
    if args.action == "unlock":
        print(store.unlock(force=args.force))
        held = getattr(store, "read_lock", None)
        return 1 if not args.force and callable(held) and held() is not None else 0
    ledger = store.ledger()
    print(f"backend: {store.backend} ({store.describe()})")
    contents = "empty" if ledger.is_empty() else "has entries"
    print(f"ledger: key id {ledger.key_id or '(none recorded)'}, {contents}")
    read_lock = getattr(store, "read_lock", None)
    if callable(read_lock):
        from deploycheck.state.s3 import describe_holder

        current = read_lock()
        print(f"lock: {'free' if current is None else 'held by ' + describe_holder(current[0])}")
    return 0


def _migrate(args: argparse.Namespace, config: Any, sot_path: Any) -> int:
    from deploycheck.errors import InputError, Problem
    from deploycheck.state import LEDGER_KEY_VARIABLE, S3StateStore, StateStore, shared_ledger_key
    from deploycheck.state.guard import no_ledger_key

    if not config.state.bucket:
        msg = "state migrate --to s3 needs state.bucket (and state.endpoint_url for R2 or MinIO)."
        hint = "Add a state: section to deploycheck.yaml (see README, 'A team's setup')."
        raise InputError([Problem(source=str(config.path), path="state", message=msg, hint=hint)])
    local = StateStore.for_project(config, sot_path, args.state_dir, environ={})
    local_key = local.key(create=False)
    shared = shared_ledger_key()
    if local_key is not None and shared != local_key:
        why = "is not set" if shared is None else "is not the local ledger key"
        msg = (
            f"{LEDGER_KEY_VARIABLE} {why}: the fingerprints in {local.ledger_path} were made with the key "
            f"{local.key_path}, and only that key can verify them from other machines."
        )
        hint = (
            f"Run `export {LEDGER_KEY_VARIABLE}=\"$(od -An -tx1 {local.key_path} | tr -d ' \\n')\"`, "
            "store the same value as a CI secret, then run the migration again."
        )
        raise no_ledger_key(msg, hint)
    remote = S3StateStore.for_project(config)
    source = local.ledger()
    events = local.read_audit()
    with remote.lock(lock_timeout(args.lock_timeout), purpose="state migrate --to s3"):
        target = remote.ledger()
        from deploycheck.state import check_ledger_key

        check_ledger_key(target, shared, remote.describe(), required=False)
        count = target.merge_from(source)
        target.save()
        for event in events:
            remote.append_audit(event)
        remote.append_audit(
            {
                "operation": "state-migrate",
                "from": str(local.directory),
                "entries": count,
                "audit": len(events),
            }
        )
    print(
        f"copied {count} ledger entries and {len(events)} audit events from {local.directory} to "
        f"{remote.describe()}. Next: set `state: {{backend: s3, ...}}` in deploycheck.yaml (if not yet) and "
        f"give {LEDGER_KEY_VARIABLE} to every machine; the local files were left as they are."
    )
    return 0
