"""Platform adapters and the factory that opens one per target and environment.

``BACKENDS`` maps each platform name of deploycheck.yaml to the adapter class, as an
import path loaded on first use (testinfra's ``BACKENDS``), so the CLI starts fast.

Example::

    config = load_config()
    worker = open_target(config, config.targets["CLOUDFLARE_WORKER"], "production")
    state = worker.read_config()
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deploycheck.errors import ConfigError, Problem

if TYPE_CHECKING:
    from deploycheck.config.model import ProjectConfig, Target
    from deploycheck.platforms.cloudflare.pages import CloudflarePagesPlatform
    from deploycheck.platforms.cloudflare.worker import CloudflareWorkerPlatform
    from deploycheck.platforms.convex import ConvexPlatform
    from deploycheck.platforms.github_actions import GithubActionsPlatform
    from deploycheck.platforms.local_dotenv import LocalDotenvPlatform

    Adapter = (
        CloudflarePagesPlatform
        | CloudflareWorkerPlatform
        | ConvexPlatform
        | GithubActionsPlatform
        | LocalDotenvPlatform
    )

__all__ = ["BACKENDS", "adapter_class", "open_local", "open_target"]

BACKENDS: dict[str, str] = {
    "cloudflare-pages": "deploycheck.platforms.cloudflare.pages.CloudflarePagesPlatform",
    "cloudflare-worker": "deploycheck.platforms.cloudflare.worker.CloudflareWorkerPlatform",
    "convex": "deploycheck.platforms.convex.ConvexPlatform",
    "github-actions": "deploycheck.platforms.github_actions.GithubActionsPlatform",
    "local-dotenv": "deploycheck.platforms.local_dotenv.LocalDotenvPlatform",
}


def adapter_class(platform: str) -> type[Any]:
    """The adapter class registered for ``platform`` (imported on first use)."""
    try:
        path = BACKENDS[platform]
    except KeyError:
        msg = f"unknown platform {platform!r}; valid: {', '.join(sorted(BACKENDS))}."
        raise ConfigError([Problem(source="deploycheck.yaml", message=msg)]) from None
    module_name, _, class_name = path.rpartition(".")
    cls: type[Any] = getattr(importlib.import_module(module_name), class_name)
    return cls


def _param(config: ProjectConfig, target: Target, env: str, params: Mapping[str, Any], name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not value:
        path = f"targets.{target.name}.environments.{env}.{name}"
        problem = Problem(
            source=str(config.path),
            line=config.line_of(f"targets.{target.name}.environments.{env}")
            if hasattr(config, "line_of")
            else None,
            path=path,
            message=f"the {target.platform} target needs {name!r}.",
            hint=f"Add {name}: <value> under {path.rsplit('.', 1)[0]}.",
        )
        raise ConfigError([problem])
    return value


def open_target(
    config: ProjectConfig, target: Target, env: str, environ: Mapping[str, str] | None = None
) -> Adapter:
    """The adapter of ``target`` in environment ``env``.

    Base URLs and credentials come from ``environ`` (default ``os.environ``); raises
    ConfigError when the target is not deployed in ``env``, a parameter or credential
    is missing, or a base URL is not https (loopback excepted).
    """
    env_vars: Mapping[str, str] = os.environ if environ is None else environ
    params = target.params(env)
    if params is None:
        problem = Problem(
            source=str(config.path),
            path=f"targets.{target.name}.environments",
            message=f"target {target.name} is not deployed in environment {env!r}.",
            hint=f"Add environments.{env} to the target or pick another --env.",
        )
        raise ConfigError([problem])
    platform = target.platform
    if platform == "cloudflare-worker":
        from deploycheck.platforms.cloudflare.worker import CloudflareWorkerPlatform

        script = _param(config, target, env, params, "script")
        return CloudflareWorkerPlatform.from_environ(
            script=script, environ=env_vars, target=target.name, env=env
        )
    if platform == "cloudflare-pages":
        from deploycheck.platforms.cloudflare.pages import CloudflarePagesPlatform

        project = _param(config, target, env, params, "project")
        stage = str(params.get("stage") or "production")
        return CloudflarePagesPlatform.from_environ(
            project=project, stage=stage, environ=env_vars, target=target.name, env=env
        )
    if platform == "convex":
        from deploycheck.platforms.convex import ConvexPlatform

        return ConvexPlatform.from_environ(
            environ=env_vars,
            deployment=params.get("deployment"),
            url=params.get("url"),
            plain_names=target.plain,
            target=target.name,
            env=env,
        )
    if platform == "github-actions":
        from deploycheck.platforms.github_actions import GithubActionsPlatform

        repository = params.get("repository") or env_vars.get("GITHUB_REPOSITORY") or ""
        if not repository:
            repository = _param(config, target, env, params, "repository")
        return GithubActionsPlatform.from_environ(
            repository=repository,
            environment=params.get("environment") or None,
            environ=env_vars,
            target=target.name,
            env=env,
        )
    if platform == "local-dotenv":
        raw = params.get("path") or target.local_file
        if not raw:
            raw = _param(config, target, env, params, "path")
        return open_local(config.resolve_path(raw), plain_names=target.plain)
    adapter_class(platform)  # raises the unknown-platform error
    msg = f"platform {platform!r} has no factory"
    raise ConfigError([Problem(source=str(config.path), path=f"targets.{target.name}.platform", message=msg)])


def open_local(
    path: Path, *, source: str = "the source-of-truth table", plain_names: tuple[str, ...] = ()
) -> LocalDotenvPlatform:
    """The adapter of a local ``.env.local`` file (read and written with python-dotenv)."""
    from deploycheck.platforms.local_dotenv import LocalDotenvPlatform

    return LocalDotenvPlatform(Path(path), source=source, plain_names=plain_names)
