"""The ``s3`` state backend: ledger, audit log and lock as objects in an S3-compatible bucket.

Objects under ``<prefix>`` (default ``deploycheck/<project>/``):

- ``ledger.json``: the ledger (:class:`deploycheck.state.ledger.Ledger`), fingerprints and change
  markers only. Written with ``If-Match`` on the ETag it was read at (``If-None-Match: *``
  when new): when another writer got there first the write fails, the newer copy is
  read, this run's changes are replayed onto it, and the write is tried again. One PUT
  replaces the whole object, so a reader sees the old or the new ledger, never half.
- ``audit/<time>-<id>.json``: one object per audit event, created with
  ``If-None-Match: *``. S3 cannot append; one object per event never overwrites another.
- ``lock.json``: the lock. Taken with ``If-None-Match: *``, renewed and released with
  ``If-Match`` on its ETag. It names its owner (user, host, pid, CI run URL), what it is
  for and when it expires; the holder renews it every third of ``state.lock_ttl``. An
  expired lock (its holder died) is taken over with ``If-Match``, which only one machine
  can win; ``deploycheck state unlock --force`` breaks a live one. Both are recorded in
  the audit log.

The ledger key is never stored: it comes from ``DEPLOYCHECK_LEDGER_KEY`` on every
machine. The ledger records only its public id (:func:`deploycheck.state.ledger.key_id`).
Credentials are boto3's usual ones (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
profiles); ``DEPLOYCHECK_S3_ENDPOINT_URL`` overrides ``state.endpoint_url``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deploycheck.errors import LockError, PlatformError
from deploycheck.http import HttpSettings, check_base_url
from deploycheck.redact import redact, register_secret
from deploycheck.state.ledger import (
    DEFAULT_LOCK_TIMEOUT,
    Ledger,
    _check_no_values,
    actor,
    git_commit,
    key_id,
    now,
    shared_ledger_key,
)
from deploycheck.state.s3client import BucketClient, Conflict, StoredObject, make_s3_client

if TYPE_CHECKING:
    from deploycheck.config import ProjectConfig

__all__ = ["LockLease", "S3StateStore", "lock_owner"]

MERGE_ATTEMPTS = 8


def lock_owner(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Who takes a lock: user, host, pid and, in GitHub Actions, the run's URL."""
    env = os.environ if environ is None else environ
    owner: dict[str, Any] = {"user": actor(env), "host": socket.gethostname(), "pid": os.getpid()}
    if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
        server = env.get("GITHUB_SERVER_URL") or "https://github.com"
        owner["ci_run_url"] = f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
    elif env.get("CI_JOB_URL"):
        owner["ci_run_url"] = env["CI_JOB_URL"]
    return owner


def describe_holder(lock: Mapping[str, Any]) -> str:
    """A lock's owner and purpose in one phrase, e.g. ``alice on laptop (pid 12) for sync-env ...``."""
    owner = lock.get("owner") or {}
    text = f"{owner.get('user', '?')} on {owner.get('host', '?')} (pid {owner.get('pid', '?')})"
    if owner.get("ci_run_url"):
        text += f", CI run {owner['ci_run_url']}"
    text += f", for {lock.get('purpose', '?')} since {lock.get('acquired_at', '?')}"
    return text + f", expires {lock.get('expires_at', '?')}"


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class LockLease:
    """A held lock: its token and current ETag; renewed by a heartbeat thread while held."""

    store: S3StateStore
    purpose: str
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    etag: str | None = None
    lost: str | None = None
    _body: dict[str, Any] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def document(self) -> bytes:
        """The lock object's body for a new expiry."""
        moment = time.time()
        self._body = {
            "token": self.token,
            "owner": self.store.owner,
            "purpose": self.purpose,
            "acquired_at": self._body.get("acquired_at") or _iso(moment),
            "expires_at": _iso(moment + self.store.lock_ttl),
            "expires_unix": moment + self.store.lock_ttl,
        }
        return json.dumps(self._body, sort_keys=True).encode()

    def renew(self) -> None:
        """Extend the expiry with ``If-Match``; LockError when the lock is no longer ours."""
        with self._guard:
            if self.lost:
                raise LockError(self.lost)
            assert self.etag is not None  # only held leases are renewed
            try:
                self.etag = self.store.bucket.replace(self.store.lock_key, self.document(), self.etag)
            except Conflict:
                current = self.store.read_lock()
                if current is not None and current[0].get("token") == self.token:
                    self.etag = current[1]  # our own write whose answer was lost
                    return
                holder = describe_holder(current[0]) if current else "nobody"
                self.lost = (
                    f"lost the lock of project {self.store.project} at {self.store.describe()}: broken "
                    f"or taken over (now held by {holder}). Stopped before writing anything more; re-run "
                    "to converge."
                )
                raise LockError(self.lost) from None


class S3StateStore:
    """The state of one project in an S3-compatible bucket (see the module docstring)."""

    backend = "s3"

    def __init__(
        self,
        bucket: BucketClient,
        *,
        project: str,
        prefix: str,
        root: Path | None = None,
        shared_key: bytes | None = None,
        lock_ttl: float = 120.0,
        owner: dict[str, Any] | None = None,
    ) -> None:
        self.bucket = bucket
        self.project = project
        self.prefix = prefix if prefix.endswith("/") or not prefix else prefix + "/"
        self.root = root
        self.shared_key = shared_key
        self.lock_ttl = lock_ttl
        self.lease: LockLease | None = None
        #: who this machine is, written into the lock it takes (see :func:`lock_owner`)
        self.owner = owner or lock_owner()

    @classmethod
    def for_project(cls, config: ProjectConfig, environ: Mapping[str, str] | None = None) -> S3StateStore:
        """The bucket ``config.state`` names, with credentials and endpoint from ``environ``."""
        env = os.environ if environ is None else environ
        state = config.state
        settings = HttpSettings.from_environ(env)
        endpoint = env.get("DEPLOYCHECK_S3_ENDPOINT_URL") or state.endpoint_url
        if endpoint:
            endpoint = check_base_url(endpoint, "state.endpoint_url", allow_insecure=settings.allow_insecure)
        for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            if env.get(name):
                register_secret(env[name])
        region = state.region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        client = make_s3_client(endpoint, region, settings)
        assert state.bucket is not None  # the schema requires a bucket for backend s3
        prefix = state.prefix if state.prefix is not None else f"deploycheck/{config.project}/"
        return cls(
            BucketClient(client, state.bucket, settings=settings),
            project=config.project,
            prefix=prefix,
            root=config.root,
            shared_key=shared_ledger_key(env),
            lock_ttl=state.lock_ttl,
            owner=lock_owner(env),
        )

    @property
    def ledger_key(self) -> str:
        """The ledger object's key."""
        return f"{self.prefix}ledger.json"

    @property
    def lock_key(self) -> str:
        """The lock object's key."""
        return f"{self.prefix}lock.json"

    @property
    def audit_prefix(self) -> str:
        """The prefix of the audit objects."""
        return f"{self.prefix}audit/"

    def describe(self) -> str:
        """``s3://bucket/prefix``."""
        return f"s3://{self.bucket.bucket}/{self.prefix}"

    def key(self, *, create: bool = True) -> bytes | None:
        """The ledger key from ``DEPLOYCHECK_LEDGER_KEY``; never created, never stored in the bucket."""
        return self.shared_key

    # -- the ledger -------------------------------------------------------------------

    def ledger(self) -> Ledger:
        """The ledger object (empty when there is none yet); ``save()`` writes it back with If-Match."""
        stored = self.bucket.get(self.ledger_key)
        return self._ledger_from(stored)

    def _ledger_from(self, stored: StoredObject | None) -> Ledger:
        where = f"s3://{self.bucket.bucket}/{self.ledger_key}"
        if stored is None:
            ledger = Ledger(Path(where), saver=self._save)
        else:
            ledger = Ledger.from_text(stored.body.decode("utf-8", "replace"), where, saver=self._save)
        ledger.etag = stored.etag if stored else None
        return ledger

    def _save(self, ledger: Ledger) -> None:
        """Write ``ledger`` conditionally; on a conflict re-read, replay its changes, try again."""
        self._check_lock()
        if self.shared_key is not None:
            ledger.key_id = ledger.key_id or key_id(self.shared_key)
        for _attempt in range(MERGE_ATTEMPTS):
            etag = ledger.etag
            body = ledger.to_text().encode()
            try:
                if etag is None:
                    ledger.etag = self.bucket.create(self.ledger_key, body)
                else:
                    ledger.etag = self.bucket.replace(self.ledger_key, body, etag)
                return
            except Conflict:
                stored = self.bucket.get(self.ledger_key)
                if stored is not None and stored.body == body:
                    ledger.etag = stored.etag
                    return  # our own write, whose answer was lost on the way back
                newer = self._ledger_from(stored)
                ledger.replay(newer)
                ledger.etag = newer.etag
        msg = (
            f"the ledger at {self.describe()} kept changing under this run ({MERGE_ATTEMPTS} attempts); "
            "nothing of it was lost, but this run's records were not saved. Re-run the sync."
        )
        raise PlatformError(msg, platform="s3 state bucket", operation=f"write {self.ledger_key}")

    # -- the lock ---------------------------------------------------------------------

    def read_lock(self) -> tuple[dict[str, Any], str] | None:
        """The lock object and its ETag, or None when nobody holds it."""
        stored = self.bucket.get(self.lock_key)
        if stored is None:
            return None
        try:
            body = json.loads(stored.body)
        except ValueError:
            body = {}
        return (body if isinstance(body, dict) else {}), stored.etag

    def _check_lock(self) -> None:
        if self.lease is None:
            msg = f"refusing to write the ledger at {self.describe()} without holding the project lock"
            raise LockError(msg)
        self.lease.renew()

    def ensure_locked(self) -> None:
        """Renew the lock now; LockError when it is not held or was lost (call before each write)."""
        self._check_lock()

    def _try_take(self, lease: LockLease) -> tuple[bool, dict[str, Any] | None]:
        """One attempt: True when taken; else the current holder's lock document."""
        try:
            lease.etag = self.bucket.create(self.lock_key, lease.document())
            return True, None
        except Conflict:
            pass
        current = self.read_lock()
        if current is None:
            return False, None  # released in between: try again at once
        body, etag = current
        if body.get("token") == lease.token:
            lease.etag = etag  # our create succeeded, its answer was lost
            return True, None
        expires = body.get("expires_unix")
        if isinstance(expires, int | float) and expires < time.time():
            try:
                lease.etag = self.bucket.replace(self.lock_key, lease.document(), etag)
            except Conflict:
                return False, body
            self.append_audit(
                {"operation": "lock-takeover", "project": self.project, "expired_holder": body.get("owner")},
            )
            return True, None
        return False, body

    @contextlib.contextmanager
    def lock(self, timeout: float = DEFAULT_LOCK_TIMEOUT, *, purpose: str = "sync") -> Iterator[None]:
        """Hold the bucket's lock; wait up to ``timeout`` s, then LockError naming the holder."""
        lease = LockLease(self, purpose)
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            taken, holder = self._try_take(lease)
            if taken:
                break
            if time.monotonic() >= deadline:
                who = describe_holder(holder) if holder else "another run"
                msg = (
                    f"project {self.project}'s lock at {self.describe()} is held by {who}; waited "
                    f"{timeout:g} s. Let it finish and run again, raise --lock-timeout, or, if that run is "
                    "gone, `deploycheck state unlock --force`."
                )
                raise LockError(msg)
            time.sleep(0.25 if holder is not None else 0.0)
        self.lease = lease
        stop = threading.Event()
        beat = threading.Thread(
            target=self._heartbeat, args=(lease, stop), daemon=True, name="lock-heartbeat"
        )
        beat.start()
        try:
            yield
        finally:
            stop.set()
            beat.join()
            self.lease = None
            if not lease.lost and lease.etag is not None:
                with contextlib.suppress(Conflict, PlatformError):
                    self.bucket.delete(self.lock_key, lease.etag)

    def _heartbeat(self, lease: LockLease, stop: threading.Event) -> None:
        while not stop.wait(self.lock_ttl / 3):
            with contextlib.suppress(LockError, PlatformError):
                lease.renew()

    def unlock(self, *, force: bool) -> str:
        """Break the lock (``force`` required), recording the holder in the audit log."""
        current = self.read_lock()
        if current is None:
            return f"the lock at {self.describe()} is not held; nothing to break."
        body, etag = current
        who = describe_holder(body)
        if not force:
            return f"the lock at {self.describe()} is held by {who}. Pass --force to break it."
        try:
            self.bucket.delete(self.lock_key, etag)
        except Conflict:
            return f"the lock at {self.describe()} changed while breaking it; run the command again."
        self.append_audit(
            {
                "operation": "unlock",
                "forced": True,
                "project": self.project,
                "broken_holder": body.get("owner"),
                "broken_purpose": body.get("purpose"),
            },
        )
        return f"broke the lock at {self.describe()} held by {who}; recorded in the audit log."

    # -- the audit log ----------------------------------------------------------------

    def append_audit(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Create one audit object for ``event``; ValueError for fields that could hold values."""
        _check_no_values(event)
        line: dict[str, Any] = {"time": now(), "actor": actor(), "commit": git_commit(self.root)}
        line.update(event)
        text = redact(json.dumps(line, sort_keys=True, default=str)) + "\n"
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"{self.audit_prefix}{stamp}-{secrets.token_hex(6)}.json"
        try:
            self.bucket.create(name, text.encode())
        except Conflict:
            stored = self.bucket.get(name)  # a retried create whose first answer was lost
            if stored is None or stored.body != text.encode():
                raise
        return line

    def read_audit(self) -> list[dict[str, Any]]:
        """Every audit event, oldest first."""
        events = []
        for name in self.bucket.keys(self.audit_prefix):
            stored = self.bucket.get(name)
            if stored is None:
                continue
            try:
                event = json.loads(stored.body)
            except ValueError:
                continue
            if isinstance(event, dict):
                events.append(event)
        return events
