"""Fixtures of the CI tests: the environment GitHub Actions gives every step, and the checkout's HEAD."""

from __future__ import annotations

from pathlib import Path

import pytest

from ci.actions import ACTIONS_DEFAULTS, REPO, head_commit


@pytest.fixture
def head() -> str:
    """The checkout's HEAD commit; skips outside a git checkout (e.g. an unpacked sdist)."""
    commit = head_commit()
    if commit is None:
        pytest.skip(f"{REPO} is not a git checkout: no commit to expect")
    return commit


@pytest.fixture
def actions_env(tmp_path: Path, head: str) -> dict[str, str]:
    """The variables GitHub Actions sets for a step: GITHUB_SHA (HEAD), GITHUB_REF, the command files."""
    files = tmp_path / "runner"
    files.mkdir()
    for name in ("step_summary", "output", "env", "path"):
        (files / name).write_text("")
    return {
        **ACTIONS_DEFAULTS,
        "GITHUB_SHA": head,
        "GITHUB_WORKSPACE": str(REPO),
        "GITHUB_STEP_SUMMARY": str(files / "step_summary"),
        "GITHUB_OUTPUT": str(files / "output"),
        "GITHUB_ENV": str(files / "env"),
        "GITHUB_PATH": str(files / "path"),
        "RUNNER_TEMP": str(files),
    }


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A GITHUB_WORKSPACE: the checkout's entries linked into a fresh folder with its own reports/."""
    folder = tmp_path / "workspace"
    folder.mkdir()
    for entry in REPO.iterdir():
        if entry.name not in ("reports", ".venv", ".tox", "node_modules"):
            (folder / entry.name).symlink_to(entry)
    return folder
