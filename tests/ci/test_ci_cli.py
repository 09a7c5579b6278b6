"""`deploycheck ci run` and `deploycheck ci drift-issue`: runner file commands, bad input, platform faults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ci.actions import REPO
from ci.runner import parse_command_file
from deploycheck.ci import write_outputs
from deploycheck.cli import main

CONFIG = str(REPO / "deploycheck.yaml")


@pytest.fixture
def runner_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Empty GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files set in the environment, as the runner gives a step."""
    files = {"output": tmp_path / "output", "summary": tmp_path / "summary"}
    for path in files.values():
        path.write_text("")
    monkeypatch.setenv("GITHUB_OUTPUT", str(files["output"]))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(files["summary"]))
    return files


def drift_json(tmp_path: Path, env: str, findings: list[dict], errors: list[dict] | None = None) -> Path:
    """A drift.json with ``findings`` (the shape of deploycheck drift --format json)."""
    path = tmp_path / f"drift-{env}-{len(findings)}.json"
    path.write_text(json.dumps({"env": env, "findings": findings, "errors": errors or []}))
    return path


def finding(key: str, target: str = "GITHUB") -> dict:
    """One failing 'missing' finding."""
    return {"key": key, "target": target, "platform": "github-actions", "state": "missing", "fails": True,
            "expected": "sha256:0123456789abcdef", "actual": None, "command": f"deploycheck sync-env --only {key}"}  # fmt: skip


def test_outputs_with_newlines_use_a_delimited_block(tmp_path: Path):
    """A value with newlines is written as name<<DELIMITER ... DELIMITER, which the runner reads back."""
    path = tmp_path / "output"
    path.write_text("")
    write_outputs({"verdict": "PASSED", "notes": "one\ntwo"}, {"GITHUB_OUTPUT": str(path)})
    text = path.read_text()
    assert "notes<<ghadelimiter_" in text
    assert parse_command_file(text) == {"verdict": "PASSED", "notes": "one\ntwo"}


def test_unknown_environment_is_bad_input(runner_files, capsys):
    """`ci run verify --env nope`: exit 2 naming the valid environments; no output or summary written."""
    assert main(["ci", "run", "verify", "--env", "nope", "--config", CONFIG]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and "production" in err and "sandbox" in err
    assert runner_files["output"].read_text() == "" and runner_files["summary"].read_text() == ""


def test_unknown_platform_is_bad_input(runner_files, capsys):
    """A misspelt platform in --platforms: exit 2 with a did-you-mean, nothing run."""
    assert (
        main(["ci", "run", "drift", "--env", "sandbox", "--config", CONFIG, "--platforms", "cloudfare-pages"])
        == 2
    )
    assert "did you mean 'cloudflare-pages'?" in capsys.readouterr().err
    assert runner_files["output"].read_text() == ""


def test_drift_issue_needs_a_token_and_a_repository(tmp_path: Path, monkeypatch, capsys):
    """Without GITHUB_TOKEN and GITHUB_REPOSITORY the issue step is bad input (exit 2) naming both."""
    for name in ("GITHUB_TOKEN", "GITHUB_REPOSITORY"):
        monkeypatch.delenv(name, raising=False)
    assert main(["ci", "drift-issue", "--from", str(drift_json(tmp_path, "production", []))]) == 2
    err = capsys.readouterr().err
    assert "GITHUB_TOKEN is not set" in err and "GITHUB_REPOSITORY" in err


def test_drift_issue_refuses_a_file_that_is_not_a_drift_report(tmp_path: Path, capsys):
    """A missing file or a results.json: exit 2 naming the file and the command that writes one."""
    assert main(["ci", "drift-issue", "--from", str(tmp_path / "nope.json")]) == 2
    assert "nope.json: cannot read" in capsys.readouterr().err
    other = tmp_path / "results.json"
    other.write_text(json.dumps({"checks": []}))
    assert main(["ci", "drift-issue", "--from", str(other)]) == 2
    assert "not a deploycheck drift report" in capsys.readouterr().err


@pytest.mark.sandbox
def test_each_environment_has_its_own_issue(tmp_path: Path, sandbox_env, runner_files):
    """Drift in production and in staging opens two issues; clean production closes only its own."""
    args = ["ci", "drift-issue", "--from"]
    assert main([*args, str(drift_json(tmp_path, "production", [finding("A")]))]) == 0
    assert main([*args, str(drift_json(tmp_path, "staging", [finding("B")]))]) == 0
    assert main([*args, str(drift_json(tmp_path, "production", []))]) == 0
    outputs = parse_command_file(runner_files["output"].read_text())
    assert outputs["issue_action"] == "closed" and outputs["issue_number"] == "1"
    import requests

    url = f"{sandbox_env['GITHUB_API_URL']}/repos/{sandbox_env['GITHUB_REPOSITORY']}/issues"
    headers = {"Authorization": f"Bearer {sandbox_env['GITHUB_TOKEN']}"}
    listed = requests.get(url, params={"state": "all"}, headers=headers, timeout=5).json()
    assert {i["title"]: i["state"] for i in listed} == {
        "Configuration drift in production: 1 finding(s)": "closed",
        "Configuration drift in staging: 1 finding(s)": "open",
    }


@pytest.mark.sandbox
def test_github_failing_is_reported_not_a_traceback(tmp_path: Path, sandbox_env, sandbox_admin, capsys):
    """The issues API answering 500 (after bounded retries): exit 3, naming GitHub and the operation."""
    sandbox_admin.fault(service="github", status=500, path="/issues", count=100)
    code = main(["ci", "drift-issue", "--from", str(drift_json(tmp_path, "production", [finding("A")]))])
    err = capsys.readouterr().err
    assert code == 3, err
    assert "github" in err and "list open issues labelled deploycheck-drift" in err
    assert "Traceback" not in err and sandbox_env["GITHUB_TOKEN"] not in err
