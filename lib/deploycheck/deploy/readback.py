"""What a deploy produced, read back from the platform APIs (never parsed from CLI text).

Before each command a :class:`Snapshot` of the target is read; after it another one.
:func:`produced` compares the two: a new Pages deployment (id, commit, whether it is
live), a new Worker deployment and the version it serves, a new Convex push (its time
in the deployment's audit log). A command that exits 0 while nothing new appears did
not deploy.

Convex keeps no list of pushes: :meth:`ConvexPlatform.last_push` finds the newest one in
the deployment's audit log.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from deploycheck.platforms import get_spec
from deploycheck.platforms.reads import DeploymentReads, PushReads, missing_read

__all__ = [
    "PlatformStateReader",
    "Produced",
    "Snapshot",
    "StateReader",
    "produced",
    "read_snapshot",
]

#: how far back the Convex audit log is searched for the push before a deploy
CONVEX_LOOKBACK_MS = 30 * 24 * 3600 * 1000


@dataclass(frozen=True)
class Snapshot:
    """The deployment state of one target at one moment.

    ``active`` is what serves traffic: the Pages deployment id, the Worker version id,
    or the Convex push time (epoch ms, as text). ``deployment`` is the active deployment
    id (Pages, Worker); ``known`` every deployment id listed.
    """

    platform: str
    active: str | None
    deployment: str | None = None
    known: frozenset[str] = frozenset()
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_event(self) -> dict[str, Any]:
        """The snapshot as audit-log data (ids and times only)."""
        return {"active": self.active, "deployment": self.deployment}


@dataclass(frozen=True)
class Produced:
    """What a deploy created on its platform, as the platform reports it."""

    platform: str
    deployment_id: str | None = None
    version_id: str | None = None
    commit: str | None = None
    url: str | None = None
    pushed_at: str | None = None
    status: str = "success"
    live: bool = True

    def describe(self) -> str:
        """``deployment 1234 (commit abc1234), live``."""
        if self.pushed_at is not None:
            return f"push at {self.pushed_at}"
        parts = []
        if self.version_id:
            parts.append(f"version {self.version_id}")
        if self.deployment_id:
            parts.append(f"deployment {self.deployment_id}")
        text = ", ".join(parts)
        if self.commit:
            text += f" (commit {self.commit[:12]})"
        if not self.live:
            text += f", NOT live (status {self.status})"
        return text

    def to_event(self) -> dict[str, Any]:
        """The ids for the audit log (the key ``commit`` is the repository's, so ``source_commit``)."""
        event = {
            "deployment_id": self.deployment_id,
            "version_id": self.version_id,
            "source_commit": self.commit,
            "pushed_at": self.pushed_at,
            "live": self.live,
        }
        return {k: v for k, v in event.items() if v is not None}


def _iso(ms: float) -> str:
    return datetime.fromtimestamp(ms / 1000.0, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def read_snapshot(adapter: object, platform: str, *, since_ms: int | None = None) -> Snapshot:
    """Read the deployment state of ``adapter`` as its platform's ``deploy_model`` says
    (:class:`~deploycheck.platforms.reads.DeploymentReads` or
    :class:`~deploycheck.platforms.reads.PushReads`).

    ``since_ms`` bounds the push search (default: the last 30 days).
    """
    model = get_spec(platform).deploy_model
    if model in ("deployment", "version") and not isinstance(adapter, DeploymentReads):
        raise missing_read(adapter, DeploymentReads, "a deploy")
    if model == "push" and not isinstance(adapter, PushReads):
        raise missing_read(adapter, PushReads, "a deploy")
    if model == "deployment":
        assert isinstance(adapter, DeploymentReads)
        deployments = adapter.list_deployments()
        active = next((d for d in deployments if d.active), None)
        details = {d.id: d for d in deployments}
        return Snapshot(
            platform,
            active.id if active else None,
            active.id if active else None,
            frozenset(details),
            details,
        )
    if model == "version":
        assert isinstance(adapter, DeploymentReads)
        deployments = adapter.list_deployments()
        active = next((d for d in deployments if d.active), None)
        version = None
        if active is not None and active.versions:
            version = active.single_version or ",".join(v for v, _ in active.versions)
        return Snapshot(
            platform,
            version,
            active.id if active else None,
            frozenset(d.id for d in deployments),
            {d.id: d for d in deployments},
        )
    if model == "push":
        assert isinstance(adapter, PushReads)
        start = since_ms if since_ms is not None else int(time.time() * 1000) - CONVEX_LOOKBACK_MS
        stamp, message = adapter.last_push(start)
        return Snapshot(platform, str(stamp) if stamp is not None else None, details={"message": message})
    msg = f"no deployment state for platform {platform!r}"
    raise ValueError(msg)


def produced(before: Snapshot, after: Snapshot) -> Produced | None:
    """What appeared between ``before`` and ``after``, or None when nothing new did."""
    model = get_spec(after.platform).deploy_model
    if model == "push":
        if after.active is None or (before.active is not None and int(after.active) <= int(before.active)):
            return None
        return Produced(after.platform, pushed_at=_iso(int(after.active)))
    new = [d for d in after.details.values() if d.id not in before.known]
    if not new:
        return None
    if model == "version":
        current = after.details.get(after.deployment or "")
        if current is None or current.id in before.known:
            return None  # e.g. a version uploaded but not deployed
        return Produced(after.platform, deployment_id=current.id, version_id=after.active)
    newest = max(new, key=lambda d: d.created_on)
    return Produced(
        after.platform,
        deployment_id=newest.id,
        commit=newest.commit,
        url=newest.url,
        status=newest.status,
        live=newest.id == after.active,
    )


def moved(before: Snapshot, after: Snapshot) -> bool:
    """True when what serves traffic changed (a failed deploy that still changed production)."""
    return after.active != before.active or after.deployment != before.deployment


class StateReader(Protocol):
    """Reads a target's deployment state; the deploy calls it before and after each command."""

    def read(self, platform: str, target: str, *, since_ms: int | None = None) -> Snapshot:
        """The target's current :class:`Snapshot`."""
        ...


class PlatformStateReader:
    """Reads snapshots through the platform adapters (``open_target``), one adapter per target."""

    def __init__(self, opener: Callable[[str], object]) -> None:
        self._opener = opener
        self._adapters: dict[str, object] = {}

    def read(self, platform: str, target: str, *, since_ms: int | None = None) -> Snapshot:
        """Open (once) and read ``target``."""
        if target not in self._adapters:
            self._adapters[target] = self._opener(target)
        return read_snapshot(self._adapters[target], platform, since_ms=since_ms)
