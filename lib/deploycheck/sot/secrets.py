"""Teaching the redactor every secret a run may print: vendor credentials and SoT secrets."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from deploycheck.config import ProjectConfig
from deploycheck.errors import SoTError
from deploycheck.redact import register_environment_credentials
from deploycheck.sot.parse import load_sot

__all__ = ["register_run_secrets"]


def register_run_secrets(
    config: ProjectConfig, env_name: str, environ: Mapping[str, str] | None = None
) -> int:
    """Register every secret the run may print with the redactor; return how many SoT tables were read.

    Registers vendor credentials from the environment and the secret values (both
    columns) of each source-of-truth table the configuration names that exists. A
    malformed table of ``env_name`` is an error; those of other environments are skipped.
    """
    register_environment_credentials(dict(os.environ if environ is None else environ))
    override = (environ or os.environ).get("DEPLOYCHECK_SOT")
    paths: dict[Path, bool] = {}
    for name in config.environments:
        path = config.sot_path(name, override)
        paths[path] = paths.get(path, False) or name == env_name
    read = 0
    for path, own in paths.items():
        if not path.is_file():
            continue
        try:
            table = load_sot(path, config, columns=(), environ=environ)
        except SoTError:
            if own:
                raise
            continue
        table.register_with_redactor()
        read += 1
    return read
