"""What ``sync-env --mode=local`` checks before it writes any local file.

- **Where**: a target's ``local_file`` must resolve inside the repository, symlinks
  included (``Path.resolve``), unless the target says ``allow_outside_repo: true``: a
  ``../escape.env`` or an absolute path would put DEV secrets anywhere.
- **Whose**: a file that exists without deploycheck's generated header was written by a
  person; it is never overwritten unless ``--force``, which first copies it to
  ``<file>.deploycheck-backup`` (mode 0600).
- **How it reads back**: each value must be one that every reader of that file
  (python-dotenv, and the app's own: Node's dotenv, Next.js, wrangler; see
  :mod:`deploycheck.platforms.dotenv_readers`) reads back exactly.

Every problem is reported at once, with the table's ``file:line`` or the config key, and
nothing is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from deploycheck.errors import Problem
from deploycheck.platforms import get_spec
from deploycheck.platforms.dotenv_readers import PYTHON_DOTENV, READERS, unrepresentable
from deploycheck.platforms.local_dotenv import BACKUP_SUFFIX, is_generated

if TYPE_CHECKING:
    from deploycheck.config import ProjectConfig, Target
    from deploycheck.sot import SourceOfTruth

__all__ = ["local_file_problems", "readers_of"]



def readers_of(target: Target) -> tuple[str, ...]:
    """Who reads ``target``'s local file: python-dotenv plus the platform's own tools."""
    own = get_spec(target.platform).local_readers
    return (PYTHON_DOTENV, *own)


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def local_file_problems(
    config: ProjectConfig, sot: SourceOfTruth, targets: Sequence[Target], *, force: bool
) -> list[Problem]:
    """Every reason not to write the local files of ``targets`` (see the module docstring)."""
    problems: list[Problem] = []
    for target in targets:
        path = target.local_file
        assert path is not None  # only targets with a local_file are written locally
        where = f"targets.{target.name}.local_file"
        if not target.allow_outside_repo and not _inside(path, config.root):
            problems.append(
                Problem(
                    source=str(config.path),
                    path=where,
                    message=f"{path} resolves to {path.resolve()}, outside the repository {config.root}.",
                    hint="Point it inside the repository, or set "
                    f"targets.{target.name}.allow_outside_repo: true.",
                )
            )
        if path.exists() and not is_generated(path) and not force:
            problems.append(
                Problem(
                    source=str(path),
                    message="this file was not written by deploycheck (no generated header); its lines "
                    "would be lost.",
                    hint="Move it aside, or pass --force to overwrite it (a copy is kept as "
                    f"{path.name}{BACKUP_SUFFIX}).",
                )
            )
        readers = readers_of(target)
        for entry in sot.for_target(target.name):
            value = entry.value("dev")
            why = None if value is None else unrepresentable(value, readers)
            if why is not None:
                names = ", ".join(READERS[r] for r in readers)
                problems.append(
                    Problem(
                        source=entry.where,
                        message=f"{entry.key}: its DEV value cannot be written to {path} so that every "
                        f"reader of that file ({names}) reads it back exactly: {why}.",
                        hint="Change the value in the table (drop the character named), or leave DEV_VALUE "
                        "empty and set it by hand.",
                    )
                )
    return problems
