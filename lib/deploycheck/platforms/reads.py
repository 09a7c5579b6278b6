"""The reads a platform may offer beyond configuration, as typed Protocols.

Every adapter is a :class:`~deploycheck.platforms.base.ConfigPlatform`; what else it can
answer is one of these Protocols, checked with ``isinstance`` where an operation needs it
(they are ``runtime_checkable``): verification, drift, deploy and rollback ask for the
read, never for a platform's name. A new platform offers a read by having its methods.

- :class:`DeploymentReads`: the deployments it lists (Pages, Workers);
- :class:`ActiveDeploymentReads`: the one deployment serving production (Pages);
- :class:`VersionReads`, :class:`VersionListReads`, :class:`BindingReads`: one version with
  its bindings, the list of versions, the secrets a version binds (Workers);
- :class:`PushReads`: when code was last pushed, for a platform that lists no deployments (Convex);
- :class:`FunctionReads`: what a backend deployment says about itself and the functions it serves (Convex).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

from deploycheck.errors import ConfigError, Problem
from deploycheck.platforms.base import Deployment

__all__ = [
    "ActiveDeploymentReads",
    "BindingReads",
    "DeploymentReads",
    "FunctionReads",
    "PushReads",
    "Version",
    "VersionListReads",
    "VersionReads",
    "missing_read",
]


@runtime_checkable
class DeploymentReads(Protocol):
    """A target that lists its code deployments."""

    def list_deployments(self) -> list[Deployment]:
        """Deployments, newest first; the one serving traffic has ``active=True``."""
        ...


@runtime_checkable
class ActiveDeploymentReads(Protocol):
    """A target with one production deployment serving traffic."""

    def active_deployment(self) -> Deployment | None:
        """The deployment serving production now, or None when there is none."""
        ...


class Version(Protocol):
    """One uploaded version of a target's code."""

    @property
    def id(self) -> str: ...
    @property
    def number(self) -> int | None: ...
    @property
    def created_on(self) -> str: ...
    @property
    def bindings(self) -> tuple[Mapping[str, Any], ...]: ...


@runtime_checkable
class VersionReads(Protocol):
    """A target whose deployments send traffic to versions, each carrying its own bindings."""

    def get_version(self, version_id: str) -> Version:
        """One version, with its bindings."""
        ...


@runtime_checkable
class VersionListReads(Protocol):
    """A target that lists its uploaded versions."""

    def list_versions(self, limit: int | None = None) -> Iterable[Version]:
        """The newest ``limit`` versions (all when None)."""
        ...


@runtime_checkable
class BindingReads(Protocol):
    """A target whose versions bind secrets by name."""

    def secret_bindings(self, version_id: str) -> set[str]:
        """The names of the secrets version ``version_id`` binds."""
        ...


@runtime_checkable
class PushReads(Protocol):
    """A target that lists no deployments but records when code was pushed."""

    def last_push(self, since_ms: int = 0) -> tuple[int | None, str | None]:
        """(epoch ms, message) of the newest push since ``since_ms``, or (None, None)."""
        ...


@runtime_checkable
class FunctionReads(Protocol):
    """A backend deployment that describes itself and the functions it serves."""

    def deployment_info(self) -> dict[str, Any]:
        """What the deployment says about itself."""
        ...

    def function_spec(self) -> Iterable[str]:
        """The identifiers of the functions it serves."""
        ...


def missing_read(adapter: object, read: type, needed_for: str) -> ConfigError:
    """The error for an adapter that does not offer ``read`` (a Protocol of this module)."""
    platform = getattr(adapter, "platform", type(adapter).__name__)
    msg = f"platform {platform!r} does not offer {read.__name__}, which {needed_for} needs."
    hint = f"Give its adapter the methods of deploycheck.platforms.reads.{read.__name__}."
    return ConfigError([Problem(source=str(platform), message=msg, hint=hint)])
