"""Deploying the checkout's web app into a fresh sandbox.

Sandbox uploads record the checkout's commit (:func:`deploycheck.gitrepo.checkout_commit`),
so ``--expect-commit HEAD`` (or the ``GITHUB_SHA`` GitHub Actions sets) holds after a deploy
to the sandbox. :func:`deploy_checkout` is how the embedded sandbox of
``pytest --env=sandbox`` starts serving the web app of the checkout it runs in, as
``deploycheck deploy --env sandbox`` would leave it.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deploycheck.config import ProjectConfig

__all__ = ["deploy_checkout"]

#: the deploy command the sandbox's Pages targets use (``deploycheck.yaml``)
_PAGES_UPLOAD = ("deploycheck", "sandbox", "upload", "pages")


def _pages_upload_args(command: str) -> argparse.Namespace | None:
    words = shlex.split(command)
    if tuple(words[:4]) != _PAGES_UPLOAD:
        return None
    parser = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    parser.add_argument("--project", required=True)
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--commit", default=None)
    parser.add_argument("--branch", default="main")
    try:
        return parser.parse_args(words[4:])
    except (argparse.ArgumentError, SystemExit):
        return None


def deploy_checkout(config: ProjectConfig, env: str, environ: Mapping[str, str]) -> list[dict[str, Any]]:
    """Run every ``deploycheck sandbox upload pages`` deploy command of ``env`` in-process.

    Each target whose deploy command is a sandbox Pages upload gets a new production
    deployment of its directory (relative to the project root), recording the checkout's
    commit. Returns what each upload created; targets with other deploy commands, or whose
    directory does not exist here (said on stderr), are left as the sandbox seeded them.
    """
    from deploycheck.sandbox.upload import upload_pages

    root = config.path.parent
    made = []
    for target in config.targets.values():
        command = (target.environments.get(env) or {}).get("deploy_command")
        args = _pages_upload_args(str(command)) if command else None
        if args is None:
            continue
        directory = args.dir if args.dir.is_absolute() else root / args.dir
        if not directory.is_dir():
            sys.stderr.write(
                f"deploycheck: {target.name} not deployed from this checkout: {directory} does not exist "
                "(the sandbox's seeded deployment stays active)\n"
            )
            continue
        made.append(upload_pages(args.project, directory, environ, commit=args.commit, branch=args.branch))
    return made
