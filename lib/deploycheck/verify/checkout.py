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

#: the sandbox's own vendor-shaped Pages upload
_PAGES_UPLOAD = ("deploycheck", "sandbox", "upload", "pages")
#: wrangler's Pages deploy, as production runs it (``npx wrangler pages deploy DIR ...``)
_WRANGLER_PAGES = ("wrangler", "pages", "deploy")


def _pages_upload_args(command: str) -> argparse.Namespace | None:
    """The project, directory, commit and branch a Pages deploy command uploads, else None.

    Both forms are read: the sandbox's ``deploycheck sandbox upload pages --project P --dir D``
    and wrangler's ``[npx] wrangler pages deploy D --project-name P [--branch B]`` (its
    ``--commit-hash``, when given, is the commit).
    """
    words = shlex.split(command)
    if words[:1] == ["npx"]:
        words = [w for w in words[1:] if not w.startswith("--no-install")]
    parser = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    if tuple(words[:4]) == _PAGES_UPLOAD:
        parser.add_argument("--project", required=True)
        parser.add_argument("--dir", required=True, type=Path)
        parser.add_argument("--commit", default=None)
        rest = words[4:]
    elif tuple(words[:3]) == _WRANGLER_PAGES:
        parser.add_argument("dir", type=Path)
        parser.add_argument("--project-name", dest="project", required=True)
        parser.add_argument("--commit-hash", dest="commit", default=None)
        rest = words[3:]
    else:
        return None
    parser.add_argument("--branch", default="main")
    try:
        args, _ = parser.parse_known_args(rest)
    except (argparse.ArgumentError, SystemExit):
        return None
    return args


def deploy_checkout(config: ProjectConfig, env: str, environ: Mapping[str, str]) -> list[dict[str, Any]]:
    """Deploy every Pages target of ``env`` from this checkout, in-process, as its command would.

    Each target whose deploy command is a Pages upload (the sandbox's own, or wrangler's
    ``pages deploy``) gets a new production deployment of its directory (relative to its
    ``deploy_cwd``, else the project root), recording the checkout's commit, through the
    sandbox's vendor-shaped upload: no Node toolchain is needed to start a sandbox. Returns
    what each upload created; targets with other deploy commands, or whose directory does
    not exist here (said on stderr), are left as the sandbox seeded them.
    """
    from deploycheck.sandbox.upload import upload_pages

    root = config.path.parent
    made = []
    for target in config.targets.values():
        command = (target.environments.get(env) or {}).get("deploy_command")
        args = _pages_upload_args(str(command)) if command else None
        if args is None:
            continue
        cwd = (target.environments.get(env) or {}).get("deploy_cwd")
        base = root / str(cwd) if cwd else root
        directory = args.dir if args.dir.is_absolute() else (base / args.dir).resolve()
        if not directory.is_dir():
            sys.stderr.write(
                f"deploycheck: {target.name} not deployed from this checkout: {directory} does not exist "
                "(the sandbox's seeded deployment stays active)\n"
            )
            continue
        made.append(upload_pages(args.project, directory, environ, commit=args.commit, branch=args.branch))
    return made
