"""The `deploycheck deploy` command line: bad input exits 2 before anything runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from deploycheck.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_unknown_platform_is_bad_input(capsys, monkeypatch):
    """--platform github-actions is not deployable: exit 2 with the valid names."""
    monkeypatch.delenv("DEPLOYCHECK_SANDBOX_ADMIN_URL", raising=False)
    code = main(
        [
            "deploy",
            "--config",
            str(ROOT / "deploycheck.yaml"),
            "--env",
            "sandbox",
            "--platform",
            "github-actions",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "'github-actions' is not a platform deploycheck deploys" in err


def test_the_sandbox_environment_needs_a_running_sandbox(capsys, monkeypatch):
    """Without the sandbox's environment, deploying `sandbox` is bad input naming how to start one."""
    monkeypatch.delenv("DEPLOYCHECK_SANDBOX_ADMIN_URL", raising=False)
    code = main(["deploy", "--config", str(ROOT / "deploycheck.yaml"), "--env", "sandbox", "--dry-run"])
    assert code == 2
    assert "deploycheck sandbox" in capsys.readouterr().err


def test_unknown_environment_is_bad_input(capsys):
    """--env nope lists the configured environments and exits 2."""
    assert main(["deploy", "--config", str(ROOT / "deploycheck.yaml"), "--env", "nope", "--dry-run"]) == 2
    assert "valid: development, production, sandbox" in capsys.readouterr().err


def test_python_dash_m_deploycheck_runs_the_command_line():
    """`python -m deploycheck deploy --help` works without the console script."""
    done = subprocess.run(
        [sys.executable, "-m", "deploycheck", "deploy", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0
    assert "--allow-drift" in done.stdout
