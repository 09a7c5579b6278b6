"""Named settings (APP_URL, WORKER_URL, ...) resolved once per run, each remembering its source.

Priority, highest first (the seed document's "Configuration Loading Order Priority"):

1. the command line: ``--set NAME=VALUE`` (``--dc-set`` under pytest)
2. an environment variable: the setting's name, then its aliases
3. a local env file (``local_file`` of each target) -- only for environments with
   ``remote: false``; a remote environment never opens one, so production is never
   verified with development values from ``apps/web/.env.local``
4. the environment's default in deploycheck.yaml (``environments.<env>.settings``)

::

    settings = Settings.from_config(config, "production", {"APP_URL": "https://staging.example.com"})
    settings.get("APP_URL").origin   # "--set APP_URL"
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from deploycheck.config.model import ProjectConfig, Setting
from deploycheck.errors import ConfigError, Problem, UsageError
from deploycheck.redact import mask_value, register_secret

__all__ = [
    "ResolvedSetting",
    "SettingSource",
    "Settings",
    "parse_overrides",
]

SettingSource = Literal["cli", "env", "local-file", "default"]


@dataclass(frozen=True)
class ResolvedSetting:
    """One setting's value and where it came from.

    ``origin`` names the exact place: ``--set APP_URL``, ``env NEXT_PUBLIC_APP_URL``,
    ``apps/web/.env.local:3`` or ``deploycheck.yaml:14``.
    """

    name: str
    value: str
    source: SettingSource
    origin: str
    secret: bool = False

    @property
    def shown(self) -> str:
        """The value as output may show it: secrets as their fingerprint."""
        return mask_value(self.value, secret=self.secret)

    def describe(self) -> str:
        """One line for humans: ``APP_URL = https://app.example.com (env APP_URL)``."""
        return f"{self.name} = {self.shown} ({self.origin})"


@dataclass(frozen=True)
class Settings:
    """The resolved settings of one environment; built by :meth:`from_config`, never changed."""

    env: str
    config_path: Path
    resolved: Mapping[str, ResolvedSetting] = field(default_factory=dict)
    known: tuple[str, ...] = ()

    @classmethod
    def from_config(
        cls,
        config: ProjectConfig,
        env_name: str,
        cli_overrides: Mapping[str, str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Resolve every setting of ``env_name`` by the fixed priority; register secret values.

        Raises ConfigError for an unknown environment and UsageError for overrides naming
        unknown settings (every problem at once).
        """
        env = config.environment(env_name)
        environ = os.environ if environ is None else environ
        overrides = dict(cli_overrides or {})
        known = _known_names(config)
        bad = [name for name in overrides if name not in known]
        if bad:
            raise UsageError([_unknown_setting(name, known) for name in bad])
        local = _read_local_files(config) if env.is_local else []
        resolved: dict[str, ResolvedSetting] = {}
        for name in known:
            spec = config.settings.get(name, Setting(name=name))
            found = _resolve(
                config, env_name=env_name, spec=spec, overrides=overrides, environ=environ, local=local
            )
            if found is not None:
                if found.secret:
                    register_secret(found.value)
                resolved[name] = found
        return cls(env=env_name, config_path=config.path, resolved=resolved, known=known)

    def find(self, name: str) -> ResolvedSetting | None:
        """The setting ``name``, or None when nothing sets it in this environment."""
        return self.resolved.get(name)

    def get(self, name: str) -> ResolvedSetting:
        """The setting ``name``; raises ConfigError when it is unknown or unset here."""
        found = self.resolved.get(name)
        if found is not None:
            return found
        if name not in self.known:
            raise ConfigError([_unknown_setting(name, self.known, source=str(self.config_path))])
        msg = f"setting {name} has no value in environment {self.env!r}."
        hint = (
            f"Pass --set {name}=VALUE, export {name}, or add a default under "
            f"environments.{self.env}.settings in {self.config_path.name}."
        )
        raise ConfigError([Problem(source=str(self.config_path), path=name, message=msg, hint=hint)])

    def value(self, name: str, default: str | None = None) -> str | None:
        """The value of ``name``, or ``default`` when it is unset."""
        found = self.resolved.get(name)
        return found.value if found is not None else default

    def __iter__(self) -> Iterator[ResolvedSetting]:
        return iter(self.resolved.values())

    def __contains__(self, name: object) -> bool:
        return name in self.resolved

    def __len__(self) -> int:
        return len(self.resolved)

    def rows(self) -> list[tuple[str, str, str, str]]:
        """(name, shown value, source, origin) for every known setting; unset ones say so."""
        rows = []
        for name in self.known:
            found = self.resolved.get(name)
            if found is None:
                rows.append((name, "(unset)", "-", "-"))
            else:
                rows.append((name, found.shown, found.source, found.origin))
        return rows


@dataclass(frozen=True)
class _LocalValue:
    key: str
    value: str
    origin: str


def _known_names(config: ProjectConfig) -> tuple[str, ...]:
    names = dict.fromkeys(config.settings)
    for env in config.environments.values():
        names.update(dict.fromkeys(env.settings))
    return tuple(names)


def _unknown_setting(name: str, known: Sequence[str], source: str = "--set") -> Problem:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return Problem(
        source=source,
        path=name,
        message=f"unknown setting {name!r}; valid: {', '.join(known) or '(none configured)'}.",
        hint=f"{hint}Declare it under settings: in deploycheck.yaml.".strip(),
    )


def _display_path(config: ProjectConfig, path: Path) -> str:
    try:
        return str(path.relative_to(config.root))
    except ValueError:
        return str(path)


def _read_local_files(config: ProjectConfig) -> list[_LocalValue]:
    """Every key of every target's local env file, in target order (local environments only)."""
    from dotenv.parser import parse_stream

    values: list[_LocalValue] = []
    for target in config.targets.values():
        path = target.local_file
        if path is None or not path.is_file():
            continue
        shown = _display_path(config, path)
        with path.open(encoding="utf-8") as stream:
            for binding in parse_stream(stream):
                if binding.key is not None and binding.value is not None and not binding.error:
                    values.append(_LocalValue(binding.key, binding.value, f"{shown}:{binding.original.line}"))
    return values


def _resolve(
    config: ProjectConfig,
    *,
    env_name: str,
    spec: Setting,
    overrides: Mapping[str, str],
    environ: Mapping[str, str],
    local: list[_LocalValue],
) -> ResolvedSetting | None:
    name, secret = spec.name, spec.secret
    if name in overrides:
        return ResolvedSetting(name, overrides[name], "cli", f"--set {name}", secret)
    for candidate in spec.names:
        value = environ.get(candidate)
        if value:
            return ResolvedSetting(name, value, "env", f"env {candidate}", secret)
    for candidate in spec.names:
        for item in local:
            if item.key == candidate and item.value:
                return ResolvedSetting(name, item.value, "local-file", item.origin, secret)
    defaults = config.environments[env_name].settings
    if name in defaults:
        key_path = f"environments.{env_name}.settings.{name}"
        line = config.line_of(key_path)
        where = config.path.name if line is None else f"{config.path.name}:{line}"
        return ResolvedSetting(name, defaults[name], "default", where, secret)
    return None


def parse_overrides(items: Sequence[str], option: str = "--set") -> dict[str, str]:
    """Parse ``NAME=VALUE`` items into a dict; raise UsageError naming every malformed one."""
    overrides: dict[str, str] = {}
    problems = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            problems.append(
                Problem(
                    source=option,
                    message=f"expected NAME=VALUE, got {item!r}.",
                    hint=f"{option} APP_URL=https://...",
                )
            )
            continue
        overrides[name.strip()] = value
    if problems:
        raise UsageError(problems)
    return overrides
