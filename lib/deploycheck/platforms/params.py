"""Where a target's parameters are written in deploycheck.yaml, for the adapters' messages."""

from __future__ import annotations

from deploycheck.errors import ConfigError, Problem

__all__ = ["param_error", "param_path"]


def param_path(target: str, env: str, name: str = "") -> str:
    """Where parameter ``name`` of ``target`` is written in deploycheck.yaml (the environment's
    own key path without a name); ``<env>`` stands for an environment not known here."""
    where = f"targets.{target}.environments.{env or '<env>'}"
    return f"{where}.{name}" if name else where


def param_error(target: str, env: str, name: str, message: str) -> ConfigError:
    """The configuration error of a bad value of parameter ``name`` of ``target``."""
    where = param_path(target, env, name)
    return ConfigError([Problem(source="deploycheck.yaml", path=where, message=message)])
