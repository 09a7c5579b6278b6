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
import json
import os
import secrets
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deploycheck.errors import InputError, LockError, Problem
from deploycheck.redact import redact

if TYPE_CHECKING:
    from deploycheck.config import ProjectConfig

__all__ = [
    "KEY_BYTES",
    "Ledger",
    "LedgerEntry",
    "StateStore",
    "append_audit",
    "now",
]

KEY_BYTES = 32
LEDGER_VERSION = 1
DEFAULT_LOCK_TIMEOUT = 5.0
#: audit events must not carry fields with these names at any depth: they would hold values
FORBIDDEN_AUDIT_FIELDS = frozenset({"value", "values", "dev", "prod", "text", "old_value", "new_value"})


def now() -> str:
    """The current UTC time as ISO 8601 with seconds, e.g. ``2026-05-01T12:00:00Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class LedgerEntry:
    """What the ledger knows of one key on one target: never its value.

    ``fingerprint`` is the keyed fingerprint of the value deploycheck last wrote,
    ``written_at`` when, ``marker`` the platform's change marker after the write (None
    when the platform has none), ``created`` whether deploycheck created the key.
    """

    fingerprint: str
    written_at: str
    marker: str | None = None
    created: bool = False
    secret: bool = False


class Ledger:
    """The sync ledger: (environment, target, key) -> :class:`LedgerEntry`, plus target markers.

    Read with :meth:`entry`; change with :meth:`record` / :meth:`forget`; persist with
    :meth:`save` (atomic).
    """

    def __init__(self, path: Path, data: Mapping[str, Any] | None = None) -> None:
        self.path = path
        self._entries: dict[str, dict[str, dict[str, LedgerEntry]]] = {}
        self._markers: dict[str, dict[str, str]] = {}
        if data:
            for env, targets in (data.get("entries") or {}).items():
                for target, keys in targets.items():
                    for key, raw in keys.items():
                        self._entries.setdefault(env, {}).setdefault(target, {})[key] = LedgerEntry(**raw)
            self._markers = {env: dict(t) for env, t in (data.get("markers") or {}).items()}

    @classmethod
    def load(cls, path: Path) -> Ledger:
        """Read the ledger at ``path``; a missing file is an empty ledger."""
        try:
            text = path.read_text("utf-8")
        except FileNotFoundError:
            return cls(path)
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("version") != LEDGER_VERSION:
                raise ValueError("unexpected shape or version")
            return cls(path, data)
        except (ValueError, TypeError) as exc:
            raise InputError(
                [
                    Problem(
                        source=str(path),
                        message=f"the sync ledger cannot be read ({exc}).",
                        hint="Move the file aside; the next sync rewrites every secret once and records "
                        "them again.",
                    )
                ],
                title="unreadable sync ledger",
            ) from None

    def entry(self, env: str, target: str, key: str) -> LedgerEntry | None:
        """The record of ``key`` on ``target`` in ``env``, or None when deploycheck never wrote it."""
        return self._entries.get(env, {}).get(target, {}).get(key)

    def entries(self, env: str, target: str) -> dict[str, LedgerEntry]:
        """Every record of ``target`` in ``env``, by key."""
        return dict(self._entries.get(env, {}).get(target, {}))

    def target_marker(self, env: str, target: str) -> str | None:
        """The target-wide change marker recorded after the last write (e.g. a Worker version id)."""
        return self._markers.get(env, {}).get(target)

    def record(self, env: str, target: str, key: str, entry: LedgerEntry) -> None:
        """Remember what was written to ``key``."""
        self._entries.setdefault(env, {}).setdefault(target, {})[key] = entry

    def forget(self, env: str, target: str, key: str) -> None:
        """Drop the record of ``key`` (after deploycheck deleted it)."""
        self._entries.get(env, {}).get(target, {}).pop(key, None)

    def set_target_marker(self, env: str, target: str, marker: str | None) -> None:
        """Remember the target-wide change marker after a write."""
        if marker is not None:
            self._markers.setdefault(env, {})[target] = marker

    def to_dict(self) -> dict[str, Any]:
        """The JSON document the ledger is saved as."""
        entries = {
            env: {t: {k: asdict(e) for k, e in sorted(keys.items())} for t, keys in sorted(targets.items())}
            for env, targets in sorted(self._entries.items())
        }
        return {"version": LEDGER_VERSION, "entries": entries, "markers": self._markers}

    def save(self) -> None:
        """Write the ledger atomically (temp file in the same folder, fsync, rename), mode 0600."""
        write_atomic(self.path, json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")


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


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _safe_name(project: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in project) or "project"


@dataclass(frozen=True)
class StateStore:
    """The state dir of one project: ledger, audit log, lock file and ledger key."""

    directory: Path
    project: str
    root: Path | None = None

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
        elif not _inside(sot_path.parent, config.root):
            chosen = sot_path.parent
        else:
            base = Path(env.get("XDG_STATE_HOME") or Path.home() / ".local" / "state").expanduser()
            chosen = base / "deploycheck" / _safe_name(config.project)
        return cls(directory=chosen.absolute(), project=config.project, root=config.root)

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
        """The ledger key; created (32 random bytes, mode 0600) when missing and ``create``."""
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
