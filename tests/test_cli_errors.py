"""Ordinary situations end with a clear message and exit 2 or 0, never "internal error" or a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from deploycheck.cli import main
from deploycheck.output import RedactingStream, ascii_fallback, report_error

REPO = Path(__file__).resolve().parents[1]
CONFIG = str(REPO / "deploycheck.yaml")


def test_sandbox_on_a_port_in_use_is_a_usage_error(capsys) -> None:
    """`deploycheck sandbox --port N` with N taken exits 2 naming the ports and --port 0."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["sandbox", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"a port of {port}-{port + 5} is already in use" in err
    assert "--port 0" in err
    assert "Traceback" not in err and "internal error" not in err


def test_a_missing_dependency_names_the_package(capsys) -> None:
    """A ModuleNotFoundError of an optional package exits 2 with the pip command, no traceback."""
    assert report_error(ModuleNotFoundError("No module named 'boto3'", name="boto3")) == 2
    err = capsys.readouterr().err
    assert "MissingDependency: the Python package 'boto3' is not installed" in err
    assert "pip install boto3" in err
    assert "Traceback" not in err


def test_an_ascii_stream_gets_the_symbols_in_words() -> None:
    """A stream that cannot encode the verdict symbols gets them in words instead of an exception."""
    import io

    raw = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    stream = RedactingStream(raw)
    stream.write("✅ Verification PASSED … ⚠️ warned\n")
    stream.flush()
    raw.seek(0)
    assert raw.read() == "[ok] Verification PASSED ... [warn] warned\n"
    assert ascii_fallback("é", "ascii") == "?"


@pytest.mark.sandbox
def test_drift_markdown_on_an_ascii_terminal(synced_env) -> None:
    """`PYTHONIOENCODING=ascii deploycheck drift --format markdown` prints the report and exits 0."""
    done = subprocess.run(
        [sys.executable, "-m", "deploycheck", "drift", "--env", "sandbox", "--format", "markdown", "--config", CONFIG],
        env={**os.environ, **synced_env, "PYTHONIOENCODING": "ascii"}, capture_output=True, text=True,
        timeout=120, check=False, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "## [ok] Configuration drift: `sandbox`" in done.stdout
    assert "Traceback" not in done.stderr


@pytest.mark.sandbox
def test_rollback_dry_run_needs_no_reason(synced_env, capsys) -> None:
    """`rollback ... --dry-run` on a production-like env prints the whole plan without --reason, noting it."""
    assert main(["rollback", "pages", "--env", "sandbox", "--dry-run", "--config", CONFIG]) == 0
    captured = capsys.readouterr()
    assert "Plan:" in captured.out and "Dry run: nothing was changed." in captured.out
    assert "the real rollback needs --reason" in captured.err


@pytest.fixture
def synced_env(sandbox_env, tmp_path, monkeypatch):
    """A synced sandbox with its state dir in tmp (os.environ points at it)."""
    state = tmp_path / "state"
    monkeypatch.setenv("DEPLOYCHECK_STATE_DIR", str(state))
    monkeypatch.chdir(REPO)
    assert main(["sync-env", "--mode=deploy-prod", "--env", "sandbox", "--yes", "--config", CONFIG]) == 0
    return {**sandbox_env, "DEPLOYCHECK_STATE_DIR": str(state)}


@pytest.mark.sandbox
def test_deploy_dry_run_prints_the_plan_the_gate_would_stop(synced_env, sandbox, capsys) -> None:
    """With drift present, `deploy --dry-run` still prints every step of the plan, then says the gate stops it."""
    import requests

    response = requests.post(
        f"{sandbox.convex_url}/api/v1/update_environment_variables",
        json={"changes": [{"name": "APP_ENV", "value": "staging"}]},
        headers={"Authorization": f"Convex {sandbox.convex_deploy_key}"},
        timeout=5,
    )
    assert response.status_code == 200
    main(["deploy", "--env", "sandbox", "--dry-run", "--config", CONFIG])
    out = capsys.readouterr().out
    assert "1. convex (CONVEX)" in out and "3. cloudflare-pages (NEXTJS)" in out
    assert out.index("3. cloudflare-pages") < out.index("Deploy stopped by the drift gate")


def test_a_missing_program_is_named(capsys) -> None:
    """A program the command runs that is not installed (FileNotFoundError) exits 2 naming it, no traceback."""
    import errno

    assert report_error(FileNotFoundError(errno.ENOENT, "No such file or directory", "git")) == 2
    err = capsys.readouterr().err
    assert err.startswith("NotFound: git: no such program or file.")
    assert "Traceback" not in err and "internal error" not in err
