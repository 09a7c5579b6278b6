"""The schema guard: may a Convex rollback from the live git ref to a target ref proceed?

Both schemas are read from git, never from the user's working tree, in one of two ways
(the report says which):

- **node** (when Node and the app's ``node_modules`` with ``convex`` and ``esbuild`` are
  there): each ref's Convex folder is taken with ``git archive``, bundled and evaluated as
  the Convex CLI does, and ``defineSchema(...).export()`` is compared exactly
  (:mod:`deploycheck.rollback.schema.evaluate`). When the lockfile at a ref pins other versions
  of the bundled packages than the installed ones, the result carries a warning naming them.
- **static**: ``schema.ts`` and the files it imports are read with ``git show REF:path`` and
  evaluated by :func:`deploycheck.rollback.schema.read.parse_schema`, which refuses (as breaking,
  with the reason and ``file:line``) whatever it cannot read.

Both are compared with :func:`deploycheck.rollback.schema.diff.diff_schemas`.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Literal

from deploycheck.errors import Problem, SchemaGuardError, UsageError
from deploycheck.rollback.schema.diff import SchemaDiff, diff_schemas
from deploycheck.rollback.schema.evaluate import EvaluatedSchema, SchemaEvalError, evaluate_at, find_toolchain
from deploycheck.rollback.schema.lockfile import find_lockfile
from deploycheck.rollback.schema.model import Schema
from deploycheck.rollback.schema.read import parse_schema
from deploycheck.rollback.schema.ts import ParseError

__all__ = [
    "Evaluator",
    "GuardResult",
    "check_schema",
    "enforce",
    "folder_diff",
    "git",
    "previous_ref",
    "resolve_ref",
    "schema_at",
]

Evaluator = Literal["auto", "node", "static"]

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
    """The default rollback target: the last commit that changed ``convex_dir`` before the one
    running. What runs at ``from_ref`` is the folder as its last change (at or before
    ``from_ref``) left it, so the target is the change before that one, never the running code."""
    done = git(repo, "log", "-n", "2", "--format=%H", from_ref, "--", convex_dir or ".", check=False)
    commits = done.stdout.split()
    if done.returncode != 0 or len(commits) < 2:
        return None
    return commits[1]


def folder_diff(repo: Path, convex_dir: str, from_ref: str, to_ref: str) -> list[str]:
    """``git diff --stat`` lines of ``convex_dir`` from ``from_ref`` to ``to_ref``: what a rollback undoes."""
    done = git(repo, "diff", "--stat=100", from_ref, to_ref, "--", convex_dir or ".", check=False)
    return [line.rstrip() for line in done.stdout.splitlines() if line.strip()]


def _reader(repo: Path, commit: str) -> Callable[[str], str | None]:
    def read(path: str) -> str | None:
        done = git(repo, "show", f"{commit}:{path}", check=False)
        return done.stdout if done.returncode == 0 else None

    return read


def _app_folders(convex_dir: str) -> list[str]:
    """The Convex folder's parents, nearest first, up to the repository root ("." last)."""
    parts = PurePosixPath(convex_dir).parts if convex_dir not in {"", "."} else ()
    folders = ["/".join(parts[:i]) or "." for i in range(len(parts), -1, -1)]
    return list(dict.fromkeys(folders))


def _locked(repo: Path, commit: str, convex_dir: str) -> tuple[str, dict[str, str]] | None:
    return find_lockfile(_reader(repo, commit), _app_folders(convex_dir))


def schema_at(repo: Path, commit: str, convex_dir: str) -> Schema | None:
    """The Convex schema at ``commit`` read by the static parser (None when there is no schema file).

    Package versions for the parser's digests come from the lockfile at that commit.
    Raises ParseError when the file exists but cannot be read.
    """
    read = _reader(repo, commit)
    lock = _locked(repo, commit, convex_dir)
    versions = lock[1] if lock else {}
    base = PurePosixPath(convex_dir) if convex_dir not in {"", "."} else PurePosixPath()
    for name in SCHEMA_NAMES:
        path = str(base / name)
        text = read(path)
        if text is not None:
            return parse_schema(text, path, read, versions.get)
    return None


@dataclass(frozen=True)
class GuardResult:
    """The guard's verdict for one rollback: the two refs and the classified differences."""

    live_ref: str
    target_ref: str
    diff: SchemaDiff
    note: str = ""
    error: str = ""
    method: Literal["node", "static"] = "static"
    method_note: str = ""
    warnings: tuple[str, ...] = ()

    @property
    def how(self) -> str:
        """Which path produced the verdict, e.g. ``static parser (Node.js is not on PATH)``."""
        name = "evaluated in Node (esbuild + convex)" if self.method == "node" else "static parser"
        return f"{name} ({self.method_note})" if self.method_note else name

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
        """How the schemas were read, warnings, then every difference (breaking first)."""
        out = [f"schemas read by: {self.how}"]
        out += [f"WARNING   {warning}" for warning in self.warnings]
        if self.error:
            out.append(f"BREAKING  {self.error}")
        out += [f"BREAKING  {change}" for change in self.diff.breaking]
        out += [f"ok        {change}" for change in self.diff.compatible]
        return out


def _strict_table_names(repo: Path, commit: str, convex_dir: str) -> bool:
    """``strictTableNameTypes`` is a TypeScript-only option absent from export(): read it statically.

    False (the cautious answer) when the static parser cannot read the schema.
    """
    try:
        schema = schema_at(repo, commit, convex_dir)
    except ParseError:
        return False
    return schema.strict_table_name_types if schema is not None else True


_Pair = tuple[EvaluatedSchema | None, EvaluatedSchema | None]


def _evaluate(repo: Path, commits: tuple[str, str], refs: tuple[str, str], convex_dir: str,
              mode: Evaluator) -> tuple[_Pair | None, str, list[str]]:
    """Both refs evaluated in Node, or None and the reason the static parser is used instead."""
    if mode == "static":
        return None, "Node evaluation not requested", []
    toolchain, why = find_toolchain([repo / folder for folder in _app_folders(convex_dir)])
    if toolchain is None:
        return None, f"Node evaluation unavailable: {why}", []
    try:
        evaluated = (evaluate_at(repo, commits[0], convex_dir, toolchain),
                     evaluate_at(repo, commits[1], convex_dir, toolchain))
    except SchemaEvalError as exc:
        return None, f"Node evaluation failed: {exc}", []
    warnings: list[str] = []
    for label, ref, commit, result in zip(("current", "target"), refs, commits, evaluated, strict=True):
        if result is None:
            continue
        lock = _locked(repo, commit, convex_dir)
        if lock is None:
            warnings.append(f"no lockfile at the {label} ref {ref}: its schema was evaluated with the "
                            "packages installed in node_modules")
            continue
        path, pinned = lock
        for package, installed in sorted(result.packages.items()):
            if pinned.get(package) and pinned[package] != installed:
                warnings.append(f"{path} at the {label} ref {ref} pins {package} {pinned[package]}, but "
                                f"node_modules has {installed}: the {label} schema was evaluated with "
                                f"{package} {installed}")
    return evaluated, f"packages from {toolchain.node_modules}", warnings


def check_schema(repo: Path, convex_dir: str, live_ref: str, target_ref: str,
                 evaluator: Evaluator = "auto") -> GuardResult:
    """Compare the schema at ``live_ref`` with the one at ``target_ref`` (rollback direction).

    ``evaluator`` is ``auto`` (Node when available, else the static parser), ``node``
    (Node or an error result) or ``static``.
    """
    live_commit = resolve_ref(repo, live_ref, "--from")
    target_commit = resolve_ref(repo, target_ref, "--to")
    evaluated, method_note, warnings = _evaluate(
        repo, (live_commit, target_commit), (live_ref, target_ref), convex_dir, evaluator)
    base = GuardResult(live_ref, target_ref, SchemaDiff(()), method="node" if evaluated else "static",
                       method_note=method_note, warnings=tuple(warnings))
    if evaluated is None and evaluator == "node":
        return replace(base, error=f"--schema-eval node: {method_note}")
    if evaluated is not None:
        live = evaluated[0].schema if evaluated[0] else None
        target = evaluated[1].schema if evaluated[1] else None
        if live is not None:
            live = replace(live, strict_table_name_types=_strict_table_names(repo, live_commit, convex_dir))
        if target is not None:
            strict = _strict_table_names(repo, target_commit, convex_dir)
            target = replace(target, strict_table_name_types=strict)
    else:
        try:
            live = schema_at(repo, live_commit, convex_dir)
            target = schema_at(repo, target_commit, convex_dir)
        except ParseError as exc:
            return replace(base, error=str(exc))
    if live is None and target is None:
        return replace(base, note=f"no schema file in {convex_dir or '.'}")
    if live is None:
        live = Schema(tables={}, schema_validation=False)
    if target is None:  # rolling back to a schemaless app: nothing is validated any more
        target = Schema(tables={}, schema_validation=False)
        note = "the target has no schema: nothing is validated"
        return replace(base, diff=diff_schemas(live, target), note=note)
    return replace(base, diff=diff_schemas(live, target))


def enforce(result: GuardResult, *, force: bool, reason: str | None) -> None:
    """Raise SchemaGuardError listing the breaking changes unless ``force`` with a ``reason``."""
    if not result.is_breaking:
        return
    if force and reason:
        return
    listing = "\n".join(f"  - {line}" for line in result.lines() if line.startswith("BREAKING"))
    msg = (
        f"rolling Convex back from {result.live_ref} to {result.target_ref} crosses breaking schema "
        f"changes (schemas read by: {result.how}); documents written by the live code would not satisfy "
        f"the target schema, or could not be shown to:\n{listing}\n"
        "Fix forward instead (deploy a fix on top of the live schema), or migrate the data first. "
        'To override, pass --force --reason "why".'
    )
    raise SchemaGuardError(msg)
