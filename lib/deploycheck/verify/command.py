"""The deployment checks as a command: what rollback and deploy run to verify their work.

Both run the same checks as ``pytest --env ENV`` in a subprocess (a clean interpreter, its
own reports), narrowed to the platforms they touched.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from deploycheck.config import ProjectConfig

__all__ = ["NO_TESTS", "checks_command", "checks_folder"]

#: pytest's exit code when no test was collected
NO_TESTS = 5


def checks_folder(config: ProjectConfig) -> Path:
    """The deployment checks folder: ``checks.dir`` of deploycheck.yaml, else ``checks/``."""
    return config.resolve_path(str(config.checks.get("dir") or "checks"))


def checks_command(
    config: ProjectConfig,
    env: str,
    platforms: Sequence[str],
    *,
    report_dir: Path | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """``python -m pytest <checks> --env ENV --platform P ...``; reports to ``report_dir`` or none."""
    # options that take a path are written --opt=PATH: pytest finds its rootdir before the
    # plugin's options are known, and would take a separate existing PATH for a test path
    args = [sys.executable, "-m", "pytest", str(checks_folder(config)), f"--env={env}"]
    args += [f"--deploycheck-config={config.path}", "-p", "no:cacheprovider", "-q"]
    args += [f"--report-dir={report_dir}"] if report_dir is not None else ["--no-reports"]
    args += [f"--platform={platform}" for platform in platforms]
    return [*args, *extra]
