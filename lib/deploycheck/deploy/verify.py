"""Verification after a deploy: the same checks as ``pytest --env ENV``, once, for every deployed platform.

The checks run in a subprocess (``python -m pytest <root>/checks --env ENV --platform P
...``) writing their reports (``results.json``, HTML, JUnit) to the report folder;
``results.json`` tells which platform's checks failed. What the deploy made live is passed
as ``--expect-pages-deployment``, ``--expect-commit`` (the Pages deployment's source
commit) and ``--expect-worker-version``.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from deploycheck.config import ProjectConfig
from deploycheck.redact import redact
from deploycheck.verify import NO_TESTS, checks_command, checks_folder

__all__ = ["EXPECT_OPTIONS", "Verification", "verify_deploy"]

#: the plugin options naming what a deploy made live (the checks fail when something else is)
EXPECT_OPTIONS = ("--expect-pages-deployment", "--expect-worker-version", "--expect-commit")


@dataclass(frozen=True)
class Verification:
    """The outcome of the post-deploy checks."""

    ran: bool
    passed: bool
    exit_code: int | None
    verdict: str
    failed_platforms: tuple[str, ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)
    results: Path | None = None
    tail: tuple[str, ...] = ()
    #: the ``--expect-*`` options the checks ran with (what this deploy made live)
    expect: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for the summary."""
        if not self.ran:
            return f"NOT RUN: {self.verdict}"
        counts = ", ".join(f"{n} {k}" for k, n in self.counts.items() if n)
        text = self.verdict + (f" ({counts})" if counts else "")
        if self.failed_platforms:
            text += f"; failing: {', '.join(self.failed_platforms)}"
        if self.expect:
            text += f"; checked with {shlex.join(self.expect)}"
        return text


def _failed_platforms(results: Path, platforms: Sequence[str]) -> tuple[tuple[str, ...], dict[str, int]]:
    try:
        data = json.loads(results.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return tuple(platforms), {}
    checks = data.get("checks") if isinstance(data, dict) else None
    counts = data.get("counts") if isinstance(data, dict) else None
    failing: list[str] = []
    unattributed = False
    for check in checks if isinstance(checks, list) else []:
        if not isinstance(check, dict) or check.get("outcome") not in ("fail", "error"):
            continue
        platform = str(check.get("platform") or "")
        if platform in platforms:
            failing.append(platform)
        else:
            unattributed = True  # e.g. a collection error: it may concern any platform
    if unattributed:
        failing += platforms
    ordered = tuple(p for p in platforms if p in failing)
    return ordered, {str(k): int(v) for k, v in (counts or {}).items() if isinstance(v, int)}


def verify_deploy(
    *,
    config: ProjectConfig,
    env: str,
    platforms: Sequence[str],
    expect: Mapping[str, str],
    report_dir: Path,
    environ: Mapping[str, str],
    out: TextIO,
    timeout: float = 900.0,
) -> Verification:
    """Run the checks of ``platforms`` in ``env`` once; ``expect`` maps ``--expect-*`` options to values."""
    from deploycheck.deploy.command import run_command

    folder = checks_folder(config)
    if not folder.is_dir():
        return Verification(False, False, None, f"no checks folder {folder}")
    extra = [item for option, value in expect.items() for item in (option, value)]
    args = checks_command(config, env, platforms, report_dir=report_dir, extra=extra)
    root = config.root
    report_dir.mkdir(parents=True, exist_ok=True)
    done = run_command(args, cwd=root, environ=environ, timeout=timeout, out=out, prefix="[verify] ")
    results = report_dir / "results.json"
    if done.exit_code == NO_TESTS:
        return Verification(
            False,
            False,
            done.exit_code,
            f"no checks of {', '.join(platforms)} were collected in {folder}",
            tail=done.tail,
        )
    if done.exit_code is None or done.timed_out:
        return Verification(False, False, done.exit_code, redact(done.describe()), tail=done.tail)
    failing, counts = _failed_platforms(results, platforms) if done.exit_code != 0 else ((), {})
    if done.exit_code == 0 and results.is_file():
        counts = _failed_platforms(results, platforms)[1]
    if done.exit_code != 0 and not failing:
        failing = tuple(platforms)
    verdict = "PASSED" if done.exit_code == 0 else f"FAILED (pytest exited {done.exit_code})"
    return Verification(
        True,
        done.exit_code == 0,
        done.exit_code,
        verdict,
        failing,
        counts,
        results if results.is_file() else None,
        done.tail,
        tuple(extra),
    )
