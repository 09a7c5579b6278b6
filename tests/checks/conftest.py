"""Fixtures of the check tests: a synced sandbox and a runner of ``python -m pytest checks`` against it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from deploycheck.cli import main
from deploycheck.sandbox import SandboxInfo

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "deploycheck.yaml"


@dataclass(frozen=True)
class ChecksRun:
    """A finished ``pytest checks`` subprocess: exit code, output and report folder."""

    returncode: int
    output: str
    report_dir: Path

    def lines(self, prefix: str) -> list[str]:
        """The output lines starting with ``prefix``."""
        return [line for line in self.output.splitlines() if line.startswith(prefix)]


@pytest.fixture
def synced_sandbox(
    sandbox: SandboxInfo, sandbox_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The environment of a sandbox after `deploycheck sync-env --mode=deploy-prod` (its state dir in tmp)."""
    state = tmp_path / "state"
    monkeypatch.chdir(REPO)
    for name in (
        "DEPLOYCHECK_SOT",
        "GITHUB_STEP_SUMMARY",
        "GITHUB_SHA",
        "PYTEST_ADDOPTS",
        "PYTEST_XDIST_WORKER",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DEPLOYCHECK_STATE_DIR", str(state))
    argv = ["sync-env", "--mode=deploy-prod", "--env", "sandbox", "--yes", "--state-dir", str(state)]
    assert main([*argv, "--config", str(CONFIG)]) == 0
    return {**sandbox_env, "DEPLOYCHECK_STATE_DIR": str(state)}


@pytest.fixture
def run_checks(synced_sandbox: dict[str, str], tmp_path: Path) -> Callable[..., ChecksRun]:
    """Run ``python -m pytest checks --env=sandbox`` in a subprocess against the synced sandbox."""

    def run(
        *args: str, env: dict[str, str] | None = None, cwd: Path = REPO, folder: str = "checks"
    ) -> ChecksRun:
        report_dir = tmp_path / f"reports-{len(list(tmp_path.glob('reports-*')))}"
        environ = {**os.environ, **synced_sandbox, **(env or {})}
        environ.pop("PYTEST_ADDOPTS", None)
        environ["COLUMNS"] = "1000"  # whole short-summary lines, not cut to a terminal width
        command = [
            sys.executable, "-m", "pytest", folder, "--env=sandbox", "-p", "no:cacheprovider",
            f"--report-dir={report_dir}", "-rA", *args,
        ]  # fmt: skip
        done = subprocess.run(
            command, cwd=cwd, env=environ, capture_output=True, text=True, timeout=300, check=False
        )
        return ChecksRun(done.returncode, done.stdout + done.stderr, report_dir)

    return run
