"""The Convex CLI command drift prints for a variable the table does not have runs as printed."""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from deploycheck.cli import main
from deploycheck.sandbox import SandboxInfo

from .conftest import REPO, TIMEOUT_S, CliRun, cli_environ

pytestmark = pytest.mark.sandbox
CONFIG = REPO / "deploycheck.yaml"


def _convex_findings(capsys: pytest.CaptureFixture[str]) -> list[dict]:
    capsys.readouterr()
    main(["drift", "--env", "sandbox", "--config", str(CONFIG), "--target", "CONVEX", "--format", "json"])
    return [f for f in json.loads(capsys.readouterr().out)["findings"] if f["target"] == "CONVEX"]


def test_the_printed_convex_remedy_removes_the_variable(
    convex_cli: Callable[..., CliRun],
    app: Path,
    sandbox: SandboxInfo,
    sandbox_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A variable set with `npx convex env set` that the table lacks: drift prints `npx convex env remove
    KEY`, which this CLI runs as printed (its words, no shell) with the sandbox's env block, and the
    finding is gone."""
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("DEPLOYCHECK_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("DEPLOYCHECK_SOT", raising=False)
    sync = ["sync-env", "--mode=deploy-prod", "--env", "sandbox", "--yes", "--target", "CONVEX"]
    assert main([*sync, "--config", str(CONFIG)]) == 0
    set_run = convex_cli("env", "set", "LEGACY_FLAG", "on")
    assert set_run.returncode == 0, set_run.output
    [finding] = _convex_findings(capsys)
    assert (finding["key"], finding["state"]) == ("LEGACY_FLAG", "unexpected")
    command = finding["vendor_command"]
    assert command == "npx convex env remove LEGACY_FLAG"
    assert command in finding["action"]
    done = subprocess.run(
        shlex.split(command), cwd=app, env=cli_environ(sandbox), capture_output=True, text=True,
        timeout=TIMEOUT_S, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert _convex_findings(capsys) == []
