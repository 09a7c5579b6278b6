"""What deploycheck remembers between syncs: the ledger, the audit log, the lock and the key.

Write-only secrets (Worker secrets, Pages secret_text, GitHub secrets) can never be read
back, so telling "unchanged" from "changed behind our back" needs memory. After every
write, the **ledger** records per environment, target and key: a keyed fingerprint of the
value written (HMAC-SHA256 under the ledger key, never the value), when, whether
deploycheck created the key (only such keys may be pruned), and the platform's own change
marker after the write (GitHub ``updated_at``, the Worker's version id, ...). The **audit
log** gets one JSON line per sync, rollback or deploy: time, actor, git commit, mode,
environment, targets, key names and fingerprints, result. Neither file ever holds a value.

Location (the *state dir*), first match wins:

1. ``--state-dir PATH``;
2. the ``DEPLOYCHECK_STATE_DIR`` environment variable;
3. ``state_dir:`` in deploycheck.yaml;
4. the folder of the source-of-truth table (``~/.env-configs/`` by default) -- unless that
   folder is inside the project's own repository (the sandbox's example table), where
   ``$XDG_STATE_HOME/deploycheck/<project>`` (``~/.local/state/...``) is used so that no
   key or ledger ever lands in the repository.

Files in it: ``<project>.ledger.json``, ``<project>.audit.jsonl``, ``<project>.lock`` and
``<project>.ledger.key`` (32 random bytes, created with mode 0600; fingerprints in the
ledger are computed with it). Every file is created 0600; the ledger is replaced
atomically (temp file + rename), audit lines are appended with one ``write``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deploycheck.errors import InputError, LockError, Problem
from deploycheck.redact import redact, register_secret

if TYPE_CHECKING:
    from deploycheck.config import ProjectConfig

__all__ = [
    "KEY_BYTES",
    "LEDGER_KEY_VARIABLE",
    "Ledger",
    "LedgerEntry",
    "StateStore",
    "append_audit",
    "key_id",
    "now",
    "shared_ledger_key",
]

KEY_BYTES = 32
LEDGER_VERSION = 2
DEFAULT_LOCK_TIMEOUT = 5.0
#: audit events must not carry fields with these names at any depth: they would hold values
FORBIDDEN_AUDIT_FIELDS = frozenset({"value", "values", "dev", "prod", "text", "old_value", "new_value"})

LEDGER_KEY_VARIABLE = "DEPLOYCHECK_LEDGER_KEY"
_HEX_KEY = re.compile(r"^[0-9a-fA-F]{64}$")


def shared_ledger_key(environ: Mapping[str, str] | None = None) -> bytes | None:
    """The ledger key from ``DEPLOYCHECK_LEDGER_KEY`` (64 hex characters), or None when unset."""
    env = os.environ if environ is None else environ
    text = (env.get(LEDGER_KEY_VARIABLE) or "").strip()
    if not text:
        return None
    register_secret(text)
    if not _HEX_KEY.match(text):
        raise InputError(
            [
                Problem(
                    source=LEDGER_KEY_VARIABLE,
                    message=f"the ledger key must be 64 hex characters (32 bytes), got {len(text)} chars.",
                    hint="Generate one with `openssl rand -hex 32`, store it as a CI secret and give the "
                    "same value to every machine that syncs or checks drift.",
                )
            ],
            title="unusable ledger key",
        )
    return bytes.fromhex(text)


def now() -> str:
    """The current UTC time as ISO 8601 with seconds, e.g. ``2026-05-01T12:00:00Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class LedgerEntry:
    """What the ledger knows of one key on one target: never its value.

    ``fingerprint`` is the keyed fingerprint of the value deploycheck last wrote,
    ``written_at`` when, ``marker`` the platform's change marker after the write (None
    when the platform has none), ``created`` whether deploycheck created the key.
    ``untrusted`` marks a write-only secret whose target changed through someone else's
    action after it was written (its value may no longer be the one fingerprinted): the
    next sync rewrites it, and drift reports it changed out of band until then.
    """

    fingerprint: str
    written_at: str
    marker: str | None = None
    created: bool = False
    secret: bool = False
    untrusted: bool = False


#: the resource identity of entries written before identities were recorded (ledger version 1)
LEGACY_IDENTITY = ""
Journal = list[tuple[str, str, str, str, str, "LedgerEntry | str | None"]]


class Ledger:
    """The sync ledger: (environment, target, resource identity, key) -> :class:`LedgerEntry`.

    The resource identity (account, base URL, script or project: see
    :func:`deploycheck.state.backend.resource_identity`) keeps entries about one platform
    resource from being compared with another one that the environment now points at.
    Callers speak in (environment, target, key); :meth:`bind` says which identity a target
    of an environment has in this run (unbound targets use the legacy identity ``""``).
    Entries of a version 1 ledger, which had no identity, are adopted by the first
    identity bound to their target.

    Read with :meth:`entry`; change with :meth:`record` / :meth:`forget`; persist with
    :meth:`save` (atomic; through ``saver`` when a state backend set one). Every change is
    also kept in a journal, so that a backend can :meth:`replay` it onto a newer copy
    when a concurrent writer won the race (optimistic concurrency on the ETag).
    """

    def __init__(
        self,
        path: Path,
        data: Mapping[str, Any] | None = None,
        *,
        saver: Callable[[Ledger], None] | None = None,
    ) -> None:
        self.path = path
        self.saver = saver
        self.key_id: str | None = None
        #: the version of this copy in its backend (an S3 ETag), for conditional writes
        self.etag: str | None = None
        self._entries: dict[str, dict[str, dict[str, dict[str, LedgerEntry]]]] = {}
        self._markers: dict[str, dict[str, dict[str, str]]] = {}
        self._identity: dict[tuple[str, str], str] = {}
        self.journal: Journal = []
        if data:
            self._read(data)

    def _read(self, data: Mapping[str, Any]) -> None:
        version = data.get("version")
        self.key_id = data.get("key_id")
        for env, targets in (data.get("entries") or {}).items():
            for target, stored in targets.items():
                by_identity = {LEGACY_IDENTITY: stored} if version == 1 else stored
                for identity, keys in by_identity.items():
                    slot = self._entries.setdefault(env, {}).setdefault(target, {}).setdefault(identity, {})
                    for key, raw in keys.items():
                        slot[key] = LedgerEntry(**raw)
        for env, targets in (data.get("markers") or {}).items():
            for target, marker in targets.items():
                by_identity = {LEGACY_IDENTITY: marker} if version == 1 else dict(marker)
                self._markers.setdefault(env, {})[target] = by_identity

    @classmethod
    def from_text(cls, text: str, source: str, *, saver: Callable[[Ledger], None] | None = None) -> Ledger:
        """Parse a saved ledger; InputError naming ``source`` when it is not one."""
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("version") not in (1, LEDGER_VERSION):
                raise ValueError("unexpected shape or version")
            return cls(Path(source), data, saver=saver)
        except (ValueError, TypeError, AttributeError) as exc:
            raise InputError(
                [
                    Problem(
                        source=source,
                        message=f"the sync ledger cannot be read ({exc}).",
                        hint="Move the file aside; the next sync rewrites every secret once and records "
                        "them again.",
                    )
                ],
                title="unreadable sync ledger",
            ) from None

    @classmethod
    def load(cls, path: Path) -> Ledger:
        """Read the ledger at ``path``; a missing file is an empty ledger."""
        try:
            text = path.read_text("utf-8")
        except FileNotFoundError:
            return cls(path)
        ledger = cls.from_text(text, str(path))
        ledger.path = path
        return ledger

    def bind(self, env: str, target: str, identity: str) -> None:
        """Say that ``target`` of ``env`` is the platform resource ``identity`` in this run."""
        self._identity[(env, target)] = identity
        self._adopt(env, target, identity)
        self.journal.append(("adopt", env, target, identity, "", None))

    def _adopt(self, env: str, target: str, identity: str) -> None:
        by_identity = self._entries.get(env, {}).get(target, {})
        if identity != LEGACY_IDENTITY and LEGACY_IDENTITY in by_identity and identity not in by_identity:
            by_identity[identity] = by_identity.pop(LEGACY_IDENTITY)
        markers = self._markers.get(env, {}).get(target, {})
        if identity != LEGACY_IDENTITY and LEGACY_IDENTITY in markers and identity not in markers:
            markers[identity] = markers.pop(LEGACY_IDENTITY)

    def identity(self, env: str, target: str) -> str:
        """The resource identity bound to ``target`` of ``env`` (``""`` when unbound)."""
        return self._identity.get((env, target), LEGACY_IDENTITY)

    def entry(self, env: str, target: str, key: str) -> LedgerEntry | None:
        """The record of ``key`` on ``target`` in ``env``, or None when deploycheck never wrote it."""
        return self.entries(env, target).get(key)

    def entries(self, env: str, target: str) -> dict[str, LedgerEntry]:
        """Every record of ``target`` in ``env`` (of its bound resource), by key."""
        return dict(self._entries.get(env, {}).get(target, {}).get(self.identity(env, target), {}))

    def target_marker(self, env: str, target: str) -> str | None:
        """The target-wide change marker recorded after the last write (e.g. a Worker version id)."""
        return self._markers.get(env, {}).get(target, {}).get(self.identity(env, target))

    def record(self, env: str, target: str, key: str, entry: LedgerEntry) -> None:
        """Remember what was written to ``key``."""
        identity = self.identity(env, target)
        self._record(env, target, identity, key, entry)
        self.journal.append(("record", env, target, identity, key, entry))

    def _record(self, env: str, target: str, identity: str, key: str, entry: LedgerEntry) -> None:
        self._entries.setdefault(env, {}).setdefault(target, {}).setdefault(identity, {})[key] = entry

    def forget(self, env: str, target: str, key: str) -> None:
        """Drop the record of ``key`` (after deploycheck deleted it)."""
        identity = self.identity(env, target)
        self._entries.get(env, {}).get(target, {}).get(identity, {}).pop(key, None)
        self.journal.append(("forget", env, target, identity, key, None))

    def set_target_marker(self, env: str, target: str, marker: str | None) -> None:
        """Remember the target-wide change marker after a write."""
        if marker is not None:
            identity = self.identity(env, target)
            self._markers.setdefault(env, {}).setdefault(target, {})[identity] = marker
            self.journal.append(("marker", env, target, identity, "", marker))

    def replay(self, onto: Ledger) -> None:
        """Apply this ledger's journal of changes to ``onto`` (a newer copy), then take its contents.

        Entries that only the other writer recorded are kept; entries this run recorded
        win for the keys it wrote. Nothing either side recorded is lost.
        """
        for op, env, target, identity, key, value in self.journal:
            if op == "adopt":
                onto._adopt(env, target, identity)
            elif op == "record" and isinstance(value, LedgerEntry):
                onto._record(env, target, identity, key, value)
            elif op == "forget":
                onto._entries.get(env, {}).get(target, {}).get(identity, {}).pop(key, None)
            elif op == "marker" and isinstance(value, str):
                onto._markers.setdefault(env, {}).setdefault(target, {})[identity] = value
        self._entries, self._markers = onto._entries, onto._markers
        self.key_id = self.key_id or onto.key_id

    def merge_from(self, other: Ledger) -> int:
        """Record every entry and marker of ``other`` here (its entries win); the count of entries."""
        count = 0
        for env, targets in other._entries.items():
            for target, by_identity in targets.items():
                for identity, keys in by_identity.items():
                    for key, entry in keys.items():
                        self._record(env, target, identity, key, entry)
                        self.journal.append(("record", env, target, identity, key, entry))
                        count += 1
        for env, by_target in other._markers.items():
            for target, marker_by_identity in by_target.items():
                for identity, marker in marker_by_identity.items():
                    self._markers.setdefault(env, {}).setdefault(target, {})[identity] = marker
                    self.journal.append(("marker", env, target, identity, "", marker))
        self.key_id = self.key_id or other.key_id
        return count

    def is_empty(self) -> bool:
        """Whether the ledger records nothing at all."""
        return not any(
            keys for targets in self._entries.values() for ids in targets.values() for keys in ids.values()
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON document the ledger is saved as."""
        entries = {
            env: {
                t: {
                    i: {k: _entry_dict(e) for k, e in sorted(keys.items())}
                    for i, keys in sorted(ids.items())
                    if keys
                }
                for t, ids in sorted(targets.items())
            }
            for env, targets in sorted(self._entries.items())
        }
        document: dict[str, Any] = {"version": LEDGER_VERSION, "entries": entries, "markers": self._markers}
        if self.key_id:
            document["key_id"] = self.key_id
        return document

    def to_text(self) -> str:
        """The saved form: sorted, indented JSON."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def save(self) -> None:
        """Persist the ledger: through the backend's saver, else atomically to ``path`` (mode 0600)."""
        if self.saver is not None:
            self.saver(self)
            return
        write_atomic(self.path, self.to_text())


def _entry_dict(entry: LedgerEntry) -> dict[str, Any]:
    """An entry as saved; ``untrusted`` only when set, so older readers see the same fields."""
    out = asdict(entry)
    if not out["untrusted"]:
        del out["untrusted"]
    return out


def write_atomic(path: Path, text: str, mode: int = 0o600) -> None:
    """Replace ``path`` with ``text`` so that readers see the old or the new file, never half."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def _safe_name(project: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in project) or "project"


@dataclass(frozen=True)
class StateStore:
    """The state dir of one project: ledger, audit log, lock file and ledger key."""

    directory: Path
    project: str
    root: Path | None = None
    #: the ledger key given by ``DEPLOYCHECK_LEDGER_KEY``; when set it replaces the key file
    shared_key: bytes | None = field(default=None, repr=False)

    backend = "local"

    @classmethod
    def for_project(
        cls,
        config: ProjectConfig,
        sot_path: Path,
        override: str | Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> StateStore:
        """Find the state dir of ``config``'s project (see the module docstring for the order)."""
        env = os.environ if environ is None else environ
        chosen: Path | None = None
        if override:
            chosen = Path(override).expanduser()
        elif env.get("DEPLOYCHECK_STATE_DIR"):
            chosen = Path(env["DEPLOYCHECK_STATE_DIR"]).expanduser()
        elif config.state_dir is not None:
            chosen = config.state_dir
        elif not sot_path.parent.resolve().is_relative_to(config.root.resolve()):
            chosen = sot_path.parent
        else:
            base = Path(env.get("XDG_STATE_HOME") or Path.home() / ".local" / "state").expanduser()
            chosen = base / "deploycheck" / _safe_name(config.project)

        return cls(
            directory=chosen.absolute(),
            project=config.project,
            root=config.root,
            shared_key=shared_ledger_key(env),
        )

    def describe(self) -> str:
        """Where this state lives, for messages."""
        return str(self.directory)

    def _file(self, suffix: str) -> Path:
        return self.directory / f"{_safe_name(self.project)}.{suffix}"

    @property
    def ledger_path(self) -> Path:
        """``<project>.ledger.json``."""
        return self._file("ledger.json")

    @property
    def audit_path(self) -> Path:
        """``<project>.audit.jsonl``."""
        return self._file("audit.jsonl")

    @property
    def lock_path(self) -> Path:
        """``<project>.lock``."""
        return self._file("lock")

    @property
    def key_path(self) -> Path:
        """``<project>.ledger.key``."""
        return self._file("ledger.key")

    def key(self, *, create: bool = True) -> bytes | None:
        """The ledger key; created (32 random bytes, mode 0600) when missing and ``create``.

        ``DEPLOYCHECK_LEDGER_KEY`` (:attr:`shared_key`), when set, is the key instead.
        """
        if self.shared_key is not None:
            return self.shared_key
        try:
            data = self.key_path.read_bytes()
        except FileNotFoundError:
            if not create:
                return None
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            data = secrets.token_bytes(KEY_BYTES)
            try:
                fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another run created it first: use theirs
                return self.key(create=False)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            return data
        if len(data) != KEY_BYTES:
            raise InputError(
                [
                    Problem(
                        source=str(self.key_path),
                        message=f"the ledger key must be {KEY_BYTES} bytes, found {len(data)}.",
                        hint="Restore the key from a backup, or delete it together with the ledger "
                        "(the next sync rewrites every secret once).",
                    )
                ],
                title="unusable ledger key",
            )
        return data

    def ledger(self) -> Ledger:
        """Load the ledger (empty when the file does not exist yet)."""
        return Ledger.load(self.ledger_path)

    @contextlib.contextmanager
    def lock(self, timeout: float = DEFAULT_LOCK_TIMEOUT, *, purpose: str = "sync") -> Iterator[None]:
        """Hold the project lock; wait up to ``timeout`` seconds, then raise LockError."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + max(timeout, 0.0)
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        holder = self.lock_path.read_text("utf-8", errors="replace").strip() or "unknown"
                        msg = (
                            f"another deploycheck run of project {self.project} holds the lock "
                            f"{self.lock_path} ({holder}); waited {timeout:g} s. Let it finish and run "
                            "again, or raise --lock-timeout / DEPLOYCHECK_LOCK_TIMEOUT."
                        )
                        raise LockError(msg) from None
                    time.sleep(0.1)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()}, {purpose} since {now()}\n".encode(), 0)
            try:
                yield
            finally:
                os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def append_audit(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Append one audit line for ``event`` (a sync, rollback or deploy) and return it.

        Adds ``time``, ``actor`` and ``commit``. Raises ValueError when the event has a
        field that could hold a value (``value``, ``values``, ``dev``, ``prod``, ...).
        """
        _check_no_values(event)
        line: dict[str, Any] = {"time": now(), "actor": actor(), "commit": git_commit(self.root)}
        line.update(event)
        text = redact(json.dumps(line, sort_keys=True, default=str)) + "\n"
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.audit_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, text.encode("utf-8"))
        finally:
            os.close(fd)
        return line

    def read_audit(self) -> list[dict[str, Any]]:
        """Every audit line, oldest first (lines that are not JSON objects are skipped)."""
        try:
            text = self.audit_path.read_text("utf-8")
        except FileNotFoundError:
            return []
        events = []
        for line in text.splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                events.append(event)
        return events

    def unlock(self, *, force: bool) -> str:
        """Break a stale lock: the local lock never outlives its process, so there is none to break."""
        return (
            f"nothing to break: the local lock {self.lock_path} is released by the system when the process "
            "holding it ends."
        )


def key_id(key: bytes) -> str:
    """A public name of a ledger key (HMAC of a constant): tells keys apart, reveals nothing of one."""
    return hmac.new(key, b"deploycheck ledger key id", hashlib.sha256).hexdigest()[:16]


def _check_no_values(event: Any, path: str = "event") -> None:
    if isinstance(event, Mapping):
        for name, item in event.items():
            if str(name).lower() in FORBIDDEN_AUDIT_FIELDS:
                msg = f"audit events never hold values: {path}.{name} is not allowed"
                raise ValueError(msg)
            _check_no_values(item, f"{path}.{name}")
    elif isinstance(event, list | tuple):
        for index, item in enumerate(event):
            _check_no_values(item, f"{path}[{index}]")


def append_audit(store: StateStore, event: Mapping[str, Any]) -> dict[str, Any]:
    """Append one line for ``event`` to ``store``'s audit log (see :meth:`StateStore.append_audit`)."""
    return store.append_audit(event)


def actor(environ: Mapping[str, str] | None = None) -> str:
    """Who runs deploycheck: GITHUB_ACTOR in Actions, else the login name."""
    env = os.environ if environ is None else environ
    for name in ("GITHUB_ACTOR", "USER", "LOGNAME", "USERNAME"):
        if env.get(name):
            return env[name]
    return "unknown"


def git_commit(folder: Path | None) -> str | None:
    """``git rev-parse HEAD`` in ``folder`` when it is a git work tree, else None."""
    if folder is None:
        return None
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and commit else None
