"""The schema guard: may a Convex rollback from the live git ref to a target ref proceed?

Both ``schema.ts`` files (and the files they import) are read straight from git
(``git show REF:path``), parsed with :func:`deploycheck.rollback.schema.read.parse_schema`
and compared with :func:`deploycheck.rollback.schema.diff.diff_schemas`. The user's
working tree is never read or touched.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from deploycheck.errors import Problem, SchemaGuardError, UsageError
from deploycheck.rollback.schema.diff import SchemaDiff, diff_schemas
from deploycheck.rollback.schema.model import Schema
from deploycheck.rollback.schema.read import parse_schema
from deploycheck.rollback.schema.ts import ParseError

__all__ = ["GuardResult", "check_schema", "enforce", "git", "previous_ref", "resolve_ref", "schema_at"]

SCHEMA_NAMES = ("schema.ts", "convex/schema.ts", "schema.js", "convex/schema.js")


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``git args`` in ``repo``; raise UsageError with git's message when it fails and ``check``."""
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=60, check=False)
    if check and done.returncode != 0:
        message = (done.stderr or done.stdout).strip().splitlines()
        raise UsageError(
            [
                Problem(
                    source=str(repo),
                    message=f"git {' '.join(args)}: {message[-1] if message else 'failed'}",
                    hint="Check the ref names and that the folder is a git repository.",
                )
            ]
        )
    return done


def resolve_ref(repo: Path, ref: str, label: str = "--to") -> str:
    """The full commit id of ``ref``; UsageError naming the option when git does not know it."""
    done = git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    if done.returncode != 0:
        raise UsageError(
            [
                Problem(
                    source=label,
                    message=f"unknown git ref {ref!r} in {repo}.",
                    hint="Use a commit id, tag or branch name (git log --oneline).",
                )
            ]
        )
    return done.stdout.strip()


def previous_ref(repo: Path, convex_dir: str, from_ref: str) -> str | None:
    """The commit before ``from_ref`` that last changed ``convex_dir`` (the default rollback target)."""
    done = git(repo, "log", "-n", "2", "--format=%H", from_ref, "--", convex_dir or ".", check=False)
    commits = done.stdout.split()
    if done.returncode != 0 or not commits:
        return None
    head = resolve_ref(repo, from_ref, "--from")
    if commits[0] != head:  # from_ref itself did not touch the folder: its last change is what runs
        return commits[0]
    return commits[1] if len(commits) > 1 else None


def _reader(repo: Path, commit: str) -> Callable[[str], str | None]:
    def read(path: str) -> str | None:
        done = git(repo, "show", f"{commit}:{path}", check=False)
        return done.stdout if done.returncode == 0 else None

    return read


def schema_at(repo: Path, commit: str, convex_dir: str) -> Schema | None:
    """The Convex schema at ``commit`` (None when that commit has no schema file).

    Raises ParseError when the file exists but cannot be read.
    """
    read = _reader(repo, commit)
    base = PurePosixPath(convex_dir) if convex_dir not in {"", "."} else PurePosixPath()
    for name in SCHEMA_NAMES:
        path = str(base / name)
        text = read(path)
        if text is not None:
            return parse_schema(text, path, read)
    return None


@dataclass(frozen=True)
class GuardResult:
    """The guard's verdict for one rollback: the two refs and the classified differences."""

    live_ref: str
    target_ref: str
    diff: SchemaDiff
    note: str = ""
    error: str = ""

    @property
    def is_breaking(self) -> bool:
        """True when the rollback must stop: breaking changes, or a schema that could not be read."""
        return self.diff.is_breaking or bool(self.error)

    @property
    def has_changes(self) -> bool:
        """True when the rollback crosses any schema difference (the matrix's "schema changes")."""
        return not self.diff.is_empty or bool(self.error)

    def summary(self) -> str:
        """One line: ``no schema changes``, ``3 compatible changes``, ``2 breaking changes``, ..."""
        if self.error:
            return f"schema unreadable: {self.error}"
        if self.diff.is_empty:
            return "no schema changes" + (f" ({self.note})" if self.note else "")
        breaking, compatible = len(self.diff.breaking), len(self.diff.compatible)
        parts = []
        if breaking:
            parts.append(f"{breaking} breaking change{'s' if breaking != 1 else ''}")
        if compatible:
            parts.append(f"{compatible} compatible change{'s' if compatible != 1 else ''}")
        return ", ".join(parts)

    def lines(self) -> list[str]:
        """Every difference on its own line, breaking ones first, marked BREAKING or ok."""
        out = [f"BREAKING  {change}" for change in self.diff.breaking]
        out += [f"ok        {change}" for change in self.diff.compatible]
        if self.error:
            out.insert(0, f"BREAKING  {self.error}")
        return out


def check_schema(repo: Path, convex_dir: str, live_ref: str, target_ref: str) -> GuardResult:
    """Compare the schema at ``live_ref`` with the one at ``target_ref`` (rollback direction)."""
    live_commit = resolve_ref(repo, live_ref, "--from")
    target_commit = resolve_ref(repo, target_ref, "--to")
    try:
        live = schema_at(repo, live_commit, convex_dir)
        target = schema_at(repo, target_commit, convex_dir)
    except ParseError as exc:
        return GuardResult(live_ref, target_ref, SchemaDiff(()), error=str(exc))
    if live is None and target is None:
        return GuardResult(
            live_ref, target_ref, SchemaDiff(()), note=f"no schema file in {convex_dir or '.'}"
        )
    if live is None:
        live = Schema(tables={}, schema_validation=False)
    if target is None:  # rolling back to a schemaless app: nothing is validated any more
        target = Schema(tables={}, schema_validation=False)
        diff = diff_schemas(live, target)
        return GuardResult(live_ref, target_ref, diff, note="the target has no schema: nothing is validated")
    return GuardResult(live_ref, target_ref, diff_schemas(live, target))


def enforce(result: GuardResult, *, force: bool, reason: str | None) -> None:
    """Raise SchemaGuardError listing the breaking changes unless ``force`` with a ``reason``."""
    if not result.is_breaking:
        return
    if force and reason:
        return
    listing = "\n".join(f"  - {line}" for line in result.lines() if line.startswith("BREAKING"))
    msg = (
        f"rolling Convex back from {result.live_ref} to {result.target_ref} crosses breaking schema "
        f"changes; documents written by the live code would not satisfy the target schema:\n{listing}\n"
        "Fix forward instead (deploy a fix on top of the live schema), or migrate the data first. "
        'To override, pass --force --reason "why".'
    )
    raise SchemaGuardError(msg)
