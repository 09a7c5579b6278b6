"""The small Protocol every platform adapter meets, and the data it speaks in.

Adapters read and write configuration (``read_config`` / ``apply_config``) and, where
the platform deploys code, list and roll back deployments. Nothing above
``deploycheck.platforms`` sees a vendor exception or a vendor payload: only these types
and :class:`deploycheck.errors.PlatformError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

__all__ = [
    "ApplyResult",
    "ConfigPlatform",
    "ConfigState",
    "Deployment",
    "DeploymentPlatform",
    "RemoteVar",
    "VarChange",
]

ChangeAction = Literal["add", "change", "remove"]


@dataclass(frozen=True)
class RemoteVar:
    """One variable as a platform holds it.

    ``value`` is None for write-only secrets (Worker secrets, Pages secret_text, GitHub
    secrets). ``marker`` is the platform's own change marker for this key when it has
    one (GitHub ``updated_at``), else None.
    """

    name: str
    value: str | None
    secret: bool
    marker: str | None = None

    @property
    def is_readable(self) -> bool:
        """True when the platform returned the value (plain vars, Convex values)."""
        return self.value is not None


@dataclass(frozen=True)
class ConfigState:
    """Everything a platform target holds now, read with list endpoints.

    ``marker`` is the target-wide change marker (e.g. the Worker's active version id),
    used to spot changes made after the last sync when no per-key marker exists.
    ``config_marker`` says the marker moves on every configuration write (the Worker's
    version does; the Pages deployment id moves on code deploys only): when it moved
    through someone else's action, the target's write-only secrets are untrusted.
    """

    platform: str
    resource: str
    vars: Mapping[str, RemoteVar]
    marker: str | None = None
    requests: int = 0
    config_marker: bool = False


@dataclass(frozen=True)
class VarChange:
    """One change to apply: ``value`` is None for ``remove``."""

    name: str
    action: ChangeAction
    value: str | None
    secret: bool

    def __repr__(self) -> str:  # never show a value, even by accident
        return f"VarChange(name={self.name!r}, action={self.action!r}, secret={self.secret!r})"


@dataclass(frozen=True)
class ApplyResult:
    """What ``apply_config`` did: the names applied, and the markers after the write.

    ``unconfirmed`` maps names the platform acknowledged but does not show as written
    (e.g. no new Worker version carrying the secret) to the reason.
    """

    applied: tuple[str, ...]
    failed: Mapping[str, str] = field(default_factory=dict)
    markers: Mapping[str, str] = field(default_factory=dict)
    marker: str | None = None
    unconfirmed: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every change was applied."""
        return not self.failed


@dataclass(frozen=True)
class Deployment:
    """One deployment of code on a platform."""

    id: str
    created_on: str
    active: bool = False
    status: str = "success"
    versions: tuple[tuple[str, float], ...] = ()
    commit: str | None = None
    url: str | None = None
    message: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def single_version(self) -> str | None:
        """The version id when this deployment sends 100% of traffic to one version."""
        if len(self.versions) == 1 and self.versions[0][1] >= 100:
            return self.versions[0][0]
        return None


@runtime_checkable
class ConfigPlatform(Protocol):
    """A target whose configuration deploycheck reads and writes."""

    platform: str
    resource: str

    def read_config(self) -> ConfigState:
        """Read every variable the target holds, with a fixed number of list requests."""
        ...

    def apply_config(self, changes: Sequence[VarChange]) -> ApplyResult:
        """Apply ``changes`` in as few requests as the vendor allows (batches where offered)."""
        ...


@runtime_checkable
class DeploymentPlatform(Protocol):
    """A target that deploys code and can roll back."""

    platform: str
    resource: str

    def list_deployments(self) -> list[Deployment]:
        """Deployments, newest first; the one serving traffic has ``active=True``."""
        ...

    def roll_back(self, to: str, *, force: bool = False, message: str = "Rollback") -> Deployment:
        """Make ``to`` (a deployment or version id) the active one; return the new deployment."""
        ...
