"""What git says about the checkout a command runs in: its commit, dirtiness, and named refs.

``wrangler pages deploy`` records the commit it deploys: without ``--commit-hash`` it runs
``git rev-parse HEAD`` (and ``git status --porcelain`` for ``commit_dirty``) in the
checkout; the sandbox's uploads do the same (:func:`checkout_commit`).
``--expect-commit`` takes a commit or any ref git resolves (``HEAD``, a tag, a branch):
:func:`resolve_commit`.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Checkout", "checkout_commit", "is_commit_hash", "resolve_commit"]

_GIT_TIMEOUT_S = 10
_HASH_RE = re.compile(r"^[0-9a-fA-F]{7,40}$")


@dataclass(frozen=True)
class Checkout:
    """The commit of a git checkout, its subject line and whether the work tree had changes."""

    commit: str
    dirty: bool
    message: str


def _git(directory: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(directory), *args],
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def checkout_commit(directory: Path) -> Checkout | None:
    """The checkout ``directory`` belongs to, or None outside a git work tree (or without git)."""
    head = _git(directory, "rev-parse", "--verify", "--quiet", "HEAD")
    if head is None or not head.strip():
        return None
    commit = head.strip()
    status = _git(directory, "status", "--porcelain")
    message = _git(directory, "show", "-s", "--format=%s", commit) or ""
    return Checkout(commit=commit, dirty=bool(status and status.strip()), message=message.strip())


def is_commit_hash(value: str) -> bool:
    """Whether ``value`` looks like a full or abbreviated commit hash (7-40 hex digits)."""
    return bool(_HASH_RE.match(value))


def resolve_commit(ref: str, directory: Path) -> str | None:
    """The full commit ``ref`` names in the checkout at ``directory``, or None when git cannot say."""
    out = _git(directory, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    return out.strip() if out and out.strip() else None
