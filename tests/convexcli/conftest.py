"""Fixtures that run the real Convex CLI (npm ``convex``) against the sandbox, self-hosted mode.

The CLI comes from ``fixtures/example/node_modules`` (``npm ci --prefix fixtures/example``,
``convex`` pinned in its package.json), or from ``DEPLOYCHECK_CONVEX_MODULES`` (a
``node_modules`` folder holding another release, used with another Node on PATH by the
``convexcli-node22`` tox env). Without an install the tests are skipped, unless
``DEPLOYCHECK_REQUIRE_CONVEX_CLI=1`` (the tox envs set it), which makes it an error.
Each command runs with only the sandbox's ``env`` block plus PATH/HOME: what a user
exporting that block has.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from deploycheck.sandbox import SandboxInfo

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "fixtures" / "example"
TIMEOUT_S = 180


def convex_modules() -> Path:
    """The node_modules folder whose ``convex`` package is the CLI under test."""
    configured = os.environ.get("DEPLOYCHECK_CONVEX_MODULES")
    return Path(configured) if configured else EXAMPLE / "node_modules"


def _require_cli() -> Path:
    modules = convex_modules()
    if not (modules / "convex" / "package.json").is_file() or shutil.which("npx") is None:
        msg = f"the Convex CLI is not installed in {modules}; run: npm ci --prefix fixtures/example"
        if os.environ.get("DEPLOYCHECK_REQUIRE_CONVEX_CLI") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    return modules


@pytest.fixture(scope="session")
def cli_version() -> str:
    """The installed Convex CLI's version."""
    package = json.loads((_require_cli() / "convex" / "package.json").read_text(encoding="utf-8"))
    return str(package["version"])


@dataclass(frozen=True)
class CliRun:
    """One finished CLI command."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """stdout and stderr, for assertion messages."""
        return f"$ npx convex {' '.join(self.args)}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """A copy of the example app (package.json, convex/) using the CLI's node_modules."""
    modules = _require_cli()
    root = tmp_path / "app"
    root.mkdir()
    shutil.copy(EXAMPLE / "package.json", root / "package.json")
    shutil.copytree(EXAMPLE / "convex", root / "convex", ignore=shutil.ignore_patterns("_generated"))
    (root / "node_modules").symlink_to(modules.resolve(), target_is_directory=True)
    return root


def cli_environ(sandbox: SandboxInfo) -> dict[str, str]:
    """PATH, HOME and the sandbox's env block: nothing else of this machine's environment."""
    keep = {k: os.environ[k] for k in ("PATH", "HOME", "TMPDIR", "npm_config_cache") if k in os.environ}
    return {**keep, **sandbox.environ(), "CI": "1"}


@pytest.fixture
def convex_cli(app: Path, sandbox: SandboxInfo) -> Callable[..., CliRun]:
    """Run ``npx convex <args>`` in the app copy against the sandbox."""

    def run(*args: str, cwd: Path | None = None) -> CliRun:
        done = subprocess.run(
            ["npx", "--no-install", "convex", *args],
            cwd=cwd or app,
            env=cli_environ(sandbox),
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
        return CliRun(tuple(args), done.returncode, done.stdout, done.stderr)

    return run
