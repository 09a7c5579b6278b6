"""--format json for every command: one JSON object on stdout with its format_version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deploycheck.cli import build_parser, main
from deploycheck.cli.json_output import _leaves
from deploycheck.output import FORMAT_VERSION

REPO = Path(__file__).resolve().parents[1]
CONFIG = str(REPO / "deploycheck.yaml")


def test_every_command_has_a_json_format() -> None:
    """Each runnable subcommand accepts --format json."""
    for leaf in _leaves(build_parser()):
        formats = [a for a in leaf._actions if "--format" in a.option_strings]
        assert formats and "json" in formats[0].choices, leaf.prog


@pytest.mark.parametrize(
    "argv",
    [
        ["config", "validate", "--config", CONFIG],
        ["config", "show", "--env", "production", "--config", CONFIG],
        ["rollback", "advise", "--severity", "high", "--impact", "majority", "--config", CONFIG],
    ],
)
def test_envelope(argv, capsys) -> None:
    """A command without its own JSON prints the envelope: format_version, command, exit_code, output, errors."""
    code = main([*argv, "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert data["format_version"] == FORMAT_VERSION
    assert data["command"][: len(argv)] == argv
    assert data["exit_code"] == code == 0
    assert data["ok"] is True and data["output"]


def test_errors_are_in_the_envelope(capsys) -> None:
    """A usage error still prints one JSON object, with the message under errors and exit code 2."""
    code = main(["config", "show", "--env", "nope", "--config", CONFIG, "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert code == data["exit_code"] == 2
    assert any("nope" in line for line in data["errors"])


@pytest.mark.sandbox
def test_drift_and_sync_carry_the_format_version(sandbox_env, tmp_path, monkeypatch, capsys) -> None:
    """drift and sync-env write their own documents, each with format_version."""
    monkeypatch.setenv("DEPLOYCHECK_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(REPO)
    main(["sync-env", "--mode=deploy-prod", "--env", "sandbox", "--dry-run", "--format", "json", "--config", CONFIG])
    assert json.loads(capsys.readouterr().out)["format_version"] == FORMAT_VERSION
    main(["drift", "--env", "sandbox", "--format", "json", "--config", CONFIG])
    assert json.loads(capsys.readouterr().out)["format_version"] == FORMAT_VERSION
