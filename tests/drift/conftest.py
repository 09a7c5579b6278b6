"""Fixtures of the drift tests: the sandbox synced by `deploycheck sync-env --mode=deploy-prod`."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploycheck.cli import main

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "deploycheck.yaml"


@pytest.fixture
def synced(sandbox_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The sandbox after `deploycheck sync-env --mode=deploy-prod`, its ledger in a temporary state dir."""
    state = tmp_path / "state"
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("DEPLOYCHECK_STATE_DIR", str(state))
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("DEPLOYCHECK_SOT", raising=False)
    argv = ["sync-env", "--mode=deploy-prod", "--env", "sandbox", "--yes", "--state-dir", str(state)]
    assert main([*argv, "--config", str(CONFIG)]) == 0
    return state
