"""Platform adapters and the one registry every layer asks about platforms.

Each platform module declares its facts once as a :class:`~deploycheck.platforms.spec.PlatformSpec`
(``SPEC``). The registry finds them through the ``deploycheck.platforms`` entry-point
group, so a separate package adds a platform by declaring one entry point (as pytest
plugins and testinfra backends do); the built-in platforms are registered the same way
and also listed here so an uninstalled source tree still finds them. Modules are
imported on first use.

Example::

    config = load_config()
    worker = open_target(config, config.targets["CLOUDFLARE_WORKER"], "production")
    state = worker.read_config()
"""

from __future__ import annotations

import difflib
import importlib
import os
from collections.abc import Mapping
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol

from deploycheck.errors import ConfigError, Problem, UsageError
from deploycheck.platforms.base import ConfigPlatform
from deploycheck.platforms.local_dotenv import LocalDotenvPlatform
from deploycheck.platforms.spec import Limits, OpenRequest, PlatformSpec

__all__ = [
    "BUILTIN",
    "ENTRY_POINT_GROUP",
    "LOCAL_PLATFORM",
    "Limits",
    "OpenRequest",
    "PlatformSpec",
    "all_specs",
    "canonical",
    "deployable",
    "get_spec",
    "open_local",
    "open_target",
    "platform_names",
    "resolve_alias",
    "rollbackable",
]

ENTRY_POINT_GROUP = "deploycheck.platforms"
#: the platform of a target's local ``.env`` file (what ``open_local`` opens)
LOCAL_PLATFORM = LocalDotenvPlatform.platform

#: the platforms shipped with deploycheck: name -> "module:attribute" of its spec
BUILTIN: dict[str, str] = {
    "cloudflare-pages": "deploycheck.platforms.cloudflare.pages:SPEC",
    "cloudflare-worker": "deploycheck.platforms.cloudflare.worker:SPEC",
    "convex": "deploycheck.platforms.convex.adapter:SPEC",
    "github-actions": "deploycheck.platforms.github_actions:SPEC",
    "local-dotenv": "deploycheck.platforms.local_dotenv:SPEC",
}


@cache
def _locations() -> dict[str, str]:
    found = dict(BUILTIN)
    for point in entry_points(group=ENTRY_POINT_GROUP):
        found[point.name] = point.value
    return found


def platform_names() -> tuple[str, ...]:
    """Every registered platform name, sorted (no module is imported)."""
    return tuple(sorted(_locations()))


@cache
def get_spec(name: str) -> PlatformSpec:
    """The spec of platform ``name`` (imported on first use); ConfigError for an unknown name."""
    try:
        location = _locations()[name]
    except KeyError:
        close = difflib.get_close_matches(name, platform_names(), n=1)
        hint = f"did you mean {close[0]!r}?" if close else "Use one of the registered platforms."
        msg = f"unknown platform {name!r}; valid: {', '.join(platform_names())}."
        raise ConfigError([Problem(source="deploycheck.yaml", message=msg, hint=hint)]) from None
    module_name, _, attribute = location.partition(":")
    spec = getattr(importlib.import_module(module_name), attribute or "SPEC")
    if not isinstance(spec, PlatformSpec) or spec.name != name:
        msg = f"entry point {name!r} ({location}) does not name a PlatformSpec called {name!r}."
        raise ConfigError([Problem(source=ENTRY_POINT_GROUP, message=msg)])
    return spec


def all_specs() -> tuple[PlatformSpec, ...]:
    """The specs of every registered platform, sorted by name."""
    return tuple(get_spec(name) for name in platform_names())


def deployable() -> tuple[str, ...]:
    """The platforms deploycheck deploys, in the default deploy order."""
    ranked = [s for s in all_specs() if s.deploy_rank is not None]
    return tuple(s.name for s in sorted(ranked, key=lambda s: (s.deploy_rank, s.name)))


def rollbackable() -> tuple[str, ...]:
    """The platforms deploycheck rolls back, in the default rollback order."""
    ranked = [s for s in all_specs() if s.rollback_rank is not None]
    return tuple(s.name for s in sorted(ranked, key=lambda s: (s.rollback_rank, s.name)))


def resolve_alias(name: str) -> str:
    """The platform ``name`` means: the one it names or is an alias of; an unknown name unchanged."""
    for spec in all_specs():
        if name in spec.names:
            return spec.name
    return name


def canonical(name: str, source: str = "--platform") -> str:
    """The platform called ``name`` or one of its aliases (``worker``); UsageError when none is."""
    resolved = resolve_alias(name)
    if resolved in platform_names():
        return resolved
    aliases = [alias for spec in all_specs() for alias in spec.aliases]
    close = difflib.get_close_matches(name, [*platform_names(), *aliases], n=1)
    hint = f"did you mean {close[0]!r}?" if close else "Use one of the valid platforms."
    msg = f"unknown platform {name!r}; valid: {', '.join(platform_names())} (aliases: {', '.join(aliases)})."
    raise UsageError([Problem(source=source, message=msg, hint=hint)])


class _TargetLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def platform(self) -> str: ...
    @property
    def plain(self) -> tuple[str, ...]: ...
    @property
    def local_file(self) -> Path | None: ...

    def params(self, env: str) -> Mapping[str, Any] | None: ...


class _ConfigLike(Protocol):
    @property
    def path(self) -> Path: ...

    def line_of(self, dotted: str) -> int | None: ...

    def resolve_path(self, raw: str) -> Path: ...


def open_target(
    config: _ConfigLike, target: _TargetLike, env: str, environ: Mapping[str, str] | None = None
) -> ConfigPlatform:
    """The adapter of ``target`` in environment ``env``, built by its platform's factory.

    Every adapter reads and writes configuration (:class:`~deploycheck.platforms.base.ConfigPlatform`);
    the other reads it offers are the Protocols of :mod:`deploycheck.platforms.reads`, checked
    with ``isinstance`` by the operation that needs one.

    Base URLs and credentials come from ``environ`` (default ``os.environ``); raises
    ConfigError when the target is not deployed in ``env``, a parameter or credential
    is missing, or a base URL is not https (loopback excepted).
    """
    params = target.params(env)
    if params is None:
        problem = Problem(
            source=str(config.path),
            path=f"targets.{target.name}.environments",
            message=f"target {target.name} is not deployed in environment {env!r}.",
            hint=f"Add environments.{env} to the target or pick another --env.",
        )
        raise ConfigError([problem])

    def fail(name: str) -> None:
        where = f"targets.{target.name}.environments.{env}"
        problem = Problem(
            source=str(config.path),
            line=config.line_of(where),
            path=f"{where}.{name}",
            message=f"the {target.platform} target needs {name!r}.",
            hint=f"Add {name}: <value> under {where}.",
        )
        raise ConfigError([problem])

    request = OpenRequest(
        target=target.name,
        env=env,
        params=params,
        environ=os.environ if environ is None else environ,
        plain_names=tuple(target.plain),
        local_file=target.local_file,
        fail=fail,
        resolve_path=config.resolve_path,
    )
    adapter = get_spec(target.platform).factory(request)
    if not isinstance(adapter, ConfigPlatform):
        returned = type(adapter).__name__
        msg = f"the factory of platform {target.platform!r} returned {returned}, not an adapter."
        raise ConfigError([Problem(source=ENTRY_POINT_GROUP, message=msg, hint="Return a ConfigPlatform.")])
    return adapter


def open_local(
    path: Path,
    *,
    source: str = "the source-of-truth table",
    plain_names: tuple[str, ...] = (),
    force: bool = False,
) -> LocalDotenvPlatform:
    """The adapter of a local ``.env.local`` file (read and written with python-dotenv);
    ``force`` lets it overwrite a file deploycheck did not write (keeping a backup)."""
    return LocalDotenvPlatform(Path(path), source=source, plain_names=plain_names, force=force)
