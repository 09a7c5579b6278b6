"""``deploycheck rollback list PLATFORM``: what a rollback can go back to, and what each changed.

Reads only. A platform with a code history (Workers versions, Pages deployments) lists
its revisions from the vendor's API; a platform rolled back from git (Convex) lists the
commits that changed its folder. Each row says what it changed (code, config, both),
when, by whom, from which source, and which one serves now and which one a code rollback
would pick, so a person chooses in seconds; ``--format json`` gives the same rows.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TextIO

from deploycheck.config import ProjectConfig
from deploycheck.errors import Problem, UsageError
from deploycheck.platforms import get_spec, resolve_alias, rollbackable
from deploycheck.platforms.history import CODE, Revision, code_target
from deploycheck.rollback.schema import git

if TYPE_CHECKING:
    from deploycheck.rollback.run import RollbackOptions

__all__ = ["git_revisions", "list_revisions", "render_text"]

_SCHEMA_FILES = ("schema.ts", "schema.js")


def git_revisions(repo: Any, folder: str, from_ref: str, limit: int) -> list[Revision]:
    """The commits that changed ``folder`` up to ``from_ref``, newest first; the first one runs."""
    fmt = "%x1e%H%x1f%an <%ae>%x1f%aI%x1f%s"
    done = git(repo, "log", f"-n{limit}", f"--format={fmt}", "--name-only", from_ref, "--", folder or ".")
    out: list[Revision] = []
    for record in done.stdout.split("\x1e")[1:]:
        head, _, names = record.partition("\n")
        commit, author, when, subject = head.split("\x1f", 3)
        files = tuple(line for line in names.splitlines() if line.strip())
        schema = any(f.rsplit("/", 1)[-1] in _SCHEMA_FILES for f in files)
        out.append(
            Revision(
                id=commit,
                kind="commit",
                created_on=when,
                code=commit,
                changes=(CODE, "schema") if schema else (CODE,),
                config_changes=files[:8],
                active=not out,
                author=author,
                source="git",
                message=subject,
                commit=commit,
            )
        )
    return out


def _revisions(
    config: ProjectConfig, platform: str, options: RollbackOptions, limit: int
) -> tuple[str, list[Revision]]:
    from deploycheck.rollback.run import _target_for, convex_folder, repo_root

    target = _target_for(config, platform, options.env, options.target)
    if target is None:
        raise UsageError([Problem("PLATFORM", f"no {platform} target in {options.env}.")])
    spec = get_spec(platform)
    if spec.rollback_source == "git":
        folder = convex_folder(config, target, options.env, options.convex_dir)
        return f"{target.name}: {folder} in git", git_revisions(
            repo_root(config), folder, options.from_ref, limit
        )
    if spec.code_history is None:
        raise UsageError([Problem("PLATFORM", f"{platform} has no history deploycheck can list.")])
    from deploycheck.platforms import open_target

    adapter = open_target(config, target, options.env, options.environ)
    return f"{target.name}: {adapter.resource}", spec.code_history.revisions(adapter, limit=limit)


def render_text(title: str, revisions: list[Revision], out: TextIO) -> None:
    """The table of ``rollback list``."""
    target = code_target(revisions)
    print(f"== {title}: {len(revisions)} newest first (* serves now, > the default code rollback target)",
          file=out)  # fmt: skip
    header = ("", "ID", "#", "CREATED", "CHANGED", "CODE", "BY", "SOURCE", "TRIGGER", "WHAT / MESSAGE")
    rows = [header]
    for r in revisions:
        mark = "*" if r.active else (">" if target is not None and r.id == target.id else "")
        what = ", ".join(r.config_changes) if r.config_changes else ""
        if r.message:
            what = f"{what}; {r.message[:50]}" if what else r.message[:50]
        if not r.deployable:
            what = f"(not deployable: {r.extra.get('status')}) {what}"
        rows.append((
            mark, r.id, str(r.number) if r.number is not None else "-", r.created_on[:19],
            "+".join(r.changes) or "-", r.short_code, r.author or "-", r.source or "-",
            r.triggered_by or "-", what,
        ))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    for row in rows:
        print("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1],
              file=out)  # fmt: skip


def list_revisions(
    config: ProjectConfig,
    name: str,
    options: RollbackOptions,
    out: TextIO,
    *,
    fmt: str = "text",
    limit: int = 20,
) -> int:
    """Print the revisions of platform ``name`` in ``options.env``; return 0."""
    platform = resolve_alias(name)
    if platform not in rollbackable():
        raise UsageError([Problem("PLATFORM", f"cannot list {name!r}; valid: {', '.join(rollbackable())}.")])
    if limit < 1:
        raise UsageError([Problem("--limit", f"--limit must be at least 1, not {limit}.")])
    title, revisions = _revisions(config, platform, options, limit)
    if fmt == "json":
        target = code_target(revisions)
        from deploycheck.output import FORMAT_VERSION

        document = {
            "format_version": FORMAT_VERSION,
            "platform": platform,
            "env": options.env,
            "target": title.split(":", 1)[0],
            "code_rollback_target": target.id if target is not None else None,
            "revisions": [r.to_dict() for r in revisions],
        }
        print(json.dumps(document, indent=2), file=out)
        return 0
    render_text(f"{platform} ({title}) in {options.env}", revisions, out)
    return 0
