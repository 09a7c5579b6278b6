"""What a check runs against: one configured target in one environment.

The pytest plugin parametrizes the ``target`` fixture with :func:`select_targets`, so a
check written once runs for each matching target, with ids such as
``test_worker_health[production-log-ingestion]``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from deploycheck.config.model import PLATFORMS, ProjectConfig, Target
from deploycheck.errors import Problem, UsageError

__all__ = ["RESOURCE_KEYS", "CheckTarget", "check_platforms", "resource_of", "select_targets"]

#: the parameter naming a target's platform resource, by platform
RESOURCE_KEYS: dict[str, str] = {
    "cloudflare-pages": "project",
    "cloudflare-worker": "script",
    "convex": "deployment",
    "github-actions": "repository",
    "local-dotenv": "file",
}


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
    value = params.get(RESOURCE_KEYS.get(target.platform, ""))
    if not value:
        return target.name.lower()
    text = str(value)
    return text.replace("/", "-") if target.platform == "github-actions" else text


def check_platforms(names: Iterable[str], source: str) -> tuple[str, ...]:
    """Validate platform names; raise UsageError listing the valid ones for each unknown name."""
    names = tuple(names)
    problems = []
    for name in names:
        if name not in PLATFORMS:
            close = difflib.get_close_matches(name, PLATFORMS, n=1)
            hint = f"did you mean {close[0]!r}?" if close else "Use one of the valid platforms."
            problems.append(
                Problem(
                    source=source,
                    message=f"unknown platform {name!r}; valid: {', '.join(PLATFORMS)}.",
                    hint=hint,
                )
            )
    if problems:
        raise UsageError(problems)
    return names


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
