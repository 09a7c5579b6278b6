"""What a check runs against: one configured target in one environment.

The pytest plugin parametrizes the ``target`` fixture with :func:`select_targets`, so a
check written once runs for each matching target, with ids such as
``test_worker_health[production-log-ingestion]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from deploycheck.config import ProjectConfig, Target
from deploycheck.errors import Problem, UsageError
from deploycheck.platforms import canonical, get_spec

__all__ = ["CheckTarget", "check_platforms", "resource_of", "select_targets"]



@dataclass(frozen=True)
class CheckTarget:
    """A target of ``env``: its config, platform, resource name and per-environment parameters."""

    env: str
    target: Target
    platform: str
    resource: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """The test id part: ``<env>-<resource>``, e.g. ``production-log-ingestion``."""
        return f"{self.env}-{self.resource}"

    @property
    def name(self) -> str:
        """The target's name in deploycheck.yaml (NEXTJS, CONVEX, ...)."""
        return self.target.name


def resource_of(target: Target, env: str) -> str:
    """The platform resource ``target`` names in ``env``, else the target's name in lower case."""
    params = target.params(env) or {}
    spec = get_spec(target.platform)
    value = params.get(spec.resource_key)
    if not value:
        return target.name.lower()
    return spec.resource_id(str(value))


def check_platforms(names: Iterable[str], source: str) -> tuple[str, ...]:
    """The registered platforms ``names`` mean (aliases such as ``worker`` accepted).

    Raises UsageError with one problem per unknown name, each with a did-you-mean.
    """
    problems: list[Problem] = []
    found: list[str] = []
    for name in names:
        try:
            found.append(canonical(name, source))
        except UsageError as exc:
            problems.extend(exc.problems)
    if problems:
        raise UsageError(problems)
    return tuple(found)


def select_targets(
    config: ProjectConfig,
    env: str,
    platforms: Iterable[str] = (),
    wanted: Iterable[str] = (),
) -> list[CheckTarget]:
    """The targets of ``env`` on ``platforms`` (the run's filter) and ``wanted`` (a check's marker).

    An empty filter means every platform.
    """
    chosen = tuple(platforms)
    marker = tuple(wanted)
    return [
        CheckTarget(
            env=env, target=t, platform=t.platform, resource=resource_of(t, env), params=t.params(env) or {}
        )
        for t in config.targets_for(env)
        if (not chosen or t.platform in chosen) and (not marker or t.platform in marker)
    ]
