"""Planning a coordinated deploy: which targets, in which order, by which command, where, how long.

Each deployable platform has its own pipeline (the seed's Pattern 1): Convex by
``npx convex deploy``, the Worker by ``npx wrangler deploy``, Pages by a direct upload
(``npx wrangler pages deploy out``) or a git push that makes Pages build. A target's
``deploy_command`` in deploycheck.yaml (per environment) replaces the default; it is
split with :func:`shlex.split` and run without a shell in ``deploy_cwd`` (relative to
the folder of deploycheck.yaml). A leading ``deploycheck`` word runs this same
deploycheck (``python -m deploycheck``), so the sandbox's upload commands work without
the console script on PATH.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from deploycheck.errors import ConfigError, Problem, UsageError
from deploycheck.platforms import deployable, get_spec, resolve_alias

if TYPE_CHECKING:
    from deploycheck.config import ProjectConfig, Target

__all__ = [
    "DeployPlan",
    "DeployStep",
    "default_command",
    "deploy_order",
    "plan_deploy",
    "resolve_command",
]

DEFAULT_TIMEOUT = 600.0


@dataclass(frozen=True)
class DeployStep:
    """One target to deploy: its command (as written and as run), folder and time limit.

    ``triggered`` is True when the command only triggers the platform's own build (a git
    push for Pages), so the new deployment is waited for rather than expected at exit.
    """

    platform: str
    target: str
    resource: str
    command: str
    argv: tuple[str, ...]
    cwd: Path
    timeout: float
    configured: bool = True
    triggered: bool = False

    @property
    def label(self) -> str:
        """``convex (CONVEX)``: how the step is named in output."""
        return f"{self.platform} ({self.target})"


@dataclass(frozen=True)
class DeployPlan:
    """The steps of one deploy in order, and whether a failure stops the rest."""

    env: str
    steps: tuple[DeployStep, ...]
    stop_on_failure: bool

    @property
    def platforms(self) -> tuple[str, ...]:
        """The platforms deployed, in order, each once."""
        return tuple(dict.fromkeys(s.platform for s in self.steps))


def default_command(platform: str, resource: str) -> str:
    """The vendor's own deploy command for ``platform`` when the target names none."""
    template = get_spec(platform).deploy_command or ""
    return template.format(resource=shlex.quote(resource))


def resolve_command(words: Sequence[str]) -> list[str]:
    """``deploycheck ...`` becomes ``<this python> -m deploycheck ...``; anything else is unchanged."""
    if words and words[0] == "deploycheck":
        return [sys.executable, "-m", "deploycheck", *words[1:]]
    return list(words)


def _is_git_push(words: Sequence[str]) -> bool:
    return len(words) >= 2 and Path(words[0]).name == "git" and "push" in words[1:3]


def normalize_platform(name: str) -> str:
    """``pages`` -> ``cloudflare-pages``, ``worker`` -> ``cloudflare-worker``, others unchanged."""
    return resolve_alias(name)


def deploy_order(config: ProjectConfig) -> tuple[str, ...]:
    """``deploy.order`` of deploycheck.yaml completed with the remaining deployable platforms."""
    raw = config.deploy.get("order") or ()
    problems = []
    for index, name in enumerate(raw):
        if normalize_platform(str(name)) not in deployable():
            path = f"deploy.order[{index}]"
            problems.append(
                Problem(
                    source=str(config.path),
                    line=config.line_of(path),
                    path=path,
                    message=f"{name!r} is not a deployable platform; valid: {', '.join(deployable())}.",
                    hint="List platforms, not target names.",
                )
            )
    if problems:
        raise ConfigError(problems)
    ordered = [normalize_platform(str(n)) for n in raw]
    return tuple(dict.fromkeys([*ordered, *deployable()]))


def _step(config: ProjectConfig, target: Target, env: str, problems: list[Problem]) -> DeployStep | None:
    params = target.params(env) or {}
    where = f"targets.{target.name}.environments.{env}"
    line = config.line_of(where)
    resource = str(params.get(get_spec(target.platform).resource_key) or target.name)
    configured = bool(params.get("deploy_command"))
    command = str(params.get("deploy_command") or default_command(target.platform, resource))
    try:
        words = shlex.split(command)
    except ValueError as exc:
        problems.append(
            Problem(
                str(config.path),
                f"cannot split the command {command!r}: {exc}.",
                line,
                f"{where}.deploy_command",
                "Fix the quoting (it is split like a shell would, then run without one).",
            )
        )
        return None
    if not words:
        problems.append(
            Problem(str(config.path), "the deploy command is empty.", line, f"{where}.deploy_command")
        )
        return None
    cwd = config.resolve_path(str(params.get("deploy_cwd") or "."))
    if not cwd.is_dir():
        problems.append(
            Problem(
                str(config.path),
                f"deploy_cwd {cwd} is not a folder.",
                line,
                f"{where}.deploy_cwd",
                "Paths are relative to the folder of deploycheck.yaml.",
            )
        )
    timeout = float(params.get("deploy_timeout") or config.deploy.get("timeout") or DEFAULT_TIMEOUT)
    return DeployStep(
        platform=target.platform,
        target=target.name,
        resource=resource,
        command=command,
        argv=tuple(resolve_command(words)),
        cwd=cwd,
        timeout=timeout,
        configured=configured,
        triggered=get_spec(target.platform).git_builds and _is_git_push(words),
    )


def plan_deploy(
    config: ProjectConfig,
    env: str,
    platforms: Sequence[str] = (),
    *,
    stop_on_failure: bool | None = None,
) -> DeployPlan:
    """The steps deploying ``platforms`` (default: every deployable one) of ``env``, in ``deploy.order``.

    Raises UsageError for an unknown or undeployed ``--platform`` and ConfigError for a
    command that cannot be split or a ``deploy_cwd`` that does not exist, every problem
    at once.
    """
    config.environment(env)
    order = deploy_order(config)
    wanted = [normalize_platform(p) for p in platforms]
    problems: list[Problem] = []
    deployed = {t.platform for t in config.targets_for(env, deployable())}
    for name in dict.fromkeys(wanted):
        if name not in deployable():
            valid = ", ".join(n for p in deployable() for n in get_spec(p).names)
            problems.append(
                Problem("--platform", f"{name!r} is not a platform deploycheck deploys; valid: {valid}.")
            )
        elif name not in deployed:
            problems.append(
                Problem(
                    "--platform",
                    f"no {name} target is deployed in environment {env!r}.",
                    hint=f"Add environments.{env} to a {name} target in deploycheck.yaml.",
                )
            )
    if problems:
        raise UsageError(problems)
    chosen = [p for p in order if (not wanted or p in wanted) and p in deployed]
    steps: list[DeployStep] = []
    config_problems: list[Problem] = []
    for platform in chosen:
        for target in config.targets_for(env, (platform,)):
            step = _step(config, target, env, config_problems)
            if step is not None:
                steps.append(step)
    if config_problems:
        raise ConfigError(config_problems)
    stop = bool(config.deploy.get("stop_on_failure", False)) if stop_on_failure is None else stop_on_failure
    return DeployPlan(env=env, steps=tuple(steps), stop_on_failure=stop)
