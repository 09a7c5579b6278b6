"""Bad input across commands: malformed tables, configurations, baselines, ledgers and arguments.

Every case must exit 2 with a message naming the file and line (where there is a file),
before any platform request is made or any file is written.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import CONFIG, REPO

SOT_CORPUS = REPO / "fixtures" / "sot-corpus"
BAD_CONFIG = REPO / "fixtures" / "bad-config"
BASELINES = REPO / "fixtures" / "baselines"
SOT_CASES: list[dict[str, Any]] = yaml.safe_load((SOT_CORPUS / "index.yaml").read_text("utf-8"))["cases"]
CONFIG_CASES: list[dict[str, Any]] = yaml.safe_load((BAD_CONFIG / "index.yaml").read_text("utf-8"))["cases"]
BASELINE_CASES = {
    "malformed-syntax.yaml": 4,
    "malformed-shape.yaml": 1,
    "malformed-fields.yaml": 5,
    "duplicate.yaml": 3,
}


def tag(request: pytest.FixtureRequest, row: str, column: str) -> None:
    """Count this test in the "bad input" table."""
    request.node.user_properties.append(("reliability-cell", f"bad input|{row}|{column}"))


def assert_refused(run: Any, admin: Any, ws: Any) -> None:
    """Exit 2, nothing on stdout, no request to any platform, no file in the state or reports dir."""
    assert run.code == 2, run.text[-2000:]
    assert admin.requests() == []
    assert ws.files() == {}
    assert "Traceback" not in run.text


def test_indexes_list_every_file() -> None:
    """Both corpus indexes name every file of their folder, each with at least one expected problem."""
    assert sorted(c["file"] for c in CONFIG_CASES) == sorted(
        p.name for p in BAD_CONFIG.glob("*.yaml") if p.name != "index.yaml"
    )
    assert len(CONFIG_CASES) >= 15 and all(c["problems"] for c in CONFIG_CASES)
    assert sorted(c["file"] for c in SOT_CASES) == sorted(p.name for p in SOT_CORPUS.glob("*.env"))


@pytest.mark.parametrize("command", ["sync-env", "drift"])
@pytest.mark.parametrize("case", SOT_CASES, ids=[c["file"] for c in SOT_CASES])
def test_sot_corpus_is_refused(case, command, workspace, admin, run_cli, request) -> None:  # type: ignore[no-untyped-def]
    """sync-env and drift both refuse each malformed table with exit 2, file:line, and zero requests."""
    tag(request, f"malformed SoT ({len(SOT_CASES)} files)", command)
    path = SOT_CORPUS / case["file"]
    if command == "sync-env":
        argv = ["sync-env", "--mode=deploy-prod", "--env", "sandbox", "--yes", "--sot", str(path)]
    else:
        argv = ["drift", "--env", "sandbox", "--sot", str(path)]
    run = run_cli([*argv, "--config", str(CONFIG)])
    assert_refused(run, admin, workspace)
    assert run.out == "" or (command == "drift" and "could not be read" not in run.out)
    for expected in case["problems"]:
        assert f"{path}:{expected['line']}:" in run.err, run.err
        assert expected["contains"] in run.err


def config_argv(command: str, config: Path, ws: Any) -> list[str]:
    """The command line of ``command`` with ``config``."""
    if command == "sync-env":
        return ["sync-env", "--mode=deploy-prod", "--env", "production", "--yes", "--config", str(config)]
    if command == "sync-env --mode=local":
        return ["sync-env", "--mode=local", "--config", str(config)]
    if command == "drift":
        return ["drift", "--env", "production", "--config", str(config)]
    if command == "rollback":
        return ["rollback", "pages", "--env", "production", "--yes", "--reason", "r", "--config", str(config)]
    return [
        "verify",
        "production",
        "--config",
        str(config),
        "--report-dir",
        str(ws.reports),
        "-p",
        "no:cacheprovider",
    ]


@pytest.mark.parametrize("command", ["sync-env", "sync-env --mode=local", "drift", "rollback", "verify"])
@pytest.mark.parametrize("case", CONFIG_CASES, ids=[c["file"] for c in CONFIG_CASES])
def test_bad_config_is_refused(case, command, workspace, admin, run_cli, tmp_path, request) -> None:  # type: ignore[no-untyped-def]
    """Every command refuses each malformed deploycheck.yaml with exit 2 and every problem at file:line."""
    tag(request, f"malformed deploycheck.yaml ({len(CONFIG_CASES)} files)", command.split()[0])
    config = tmp_path / "project" / "deploycheck.yaml"
    config.parent.mkdir()
    config.write_bytes((BAD_CONFIG / case["file"]).read_bytes())
    run = run_cli(config_argv(command, config, workspace))
    assert_refused(run, admin, workspace)
    assert sorted(p.name for p in config.parent.rglob("*")) == ["deploycheck.yaml"]
    for expected in case["problems"]:
        assert f"{config}:{expected['line']}:" in run.text, run.text
        assert expected["contains"] in run.text


@pytest.mark.parametrize("name", sorted(BASELINE_CASES))
def test_malformed_baseline_is_refused(name, workspace, admin, run_cli, request) -> None:  # type: ignore[no-untyped-def]
    """drift refuses a malformed baseline with exit 2 at file:line before reading any platform."""
    tag(request, "malformed baseline (4 files)", "drift")
    path = BASELINES / name
    run = run_cli(["drift", "--env", "sandbox", "--config", str(CONFIG), "--baseline", str(path)])
    assert_refused(run, admin, workspace)
    assert f"{path}:{BASELINE_CASES[name]}:" in run.err, run.err


def test_malformed_ledger_is_refused_and_left_alone(workspace, admin, run_cli, request) -> None:  # type: ignore[no-untyped-def]
    """A corrupt ledger stops sync-env with exit 2 naming it; the file is not touched and nothing is written."""
    tag(request, "malformed ledger", "sync-env")
    workspace.state.mkdir()
    ledger = workspace.state / "app.example.com.ledger.json"
    ledger.write_text('{"version": 1, "entries": {"sandbox": ')
    before = ledger.stat().st_mtime_ns, ledger.read_bytes()
    run = run_cli(["sync-env", "--mode=deploy-prod", "--env", "sandbox", "--yes", "--config", str(CONFIG)])
    assert run.code == 2, run.text
    assert str(ledger) in run.err and "Move the file aside" in run.err
    assert (ledger.stat().st_mtime_ns, ledger.read_bytes()) == before
    assert admin.writes() == []
    assert sorted(p.name for p in workspace.state.iterdir()) == [ledger.name]


#: wrong command lines and the text their message must contain
BAD_ARGS = {
    "unknown command": (["deploy-everything"], "invalid choice"),
    "unknown mode": (["sync-env", "--mode=prod"], "invalid choice: 'prod'"),
    "unknown env": (
        ["sync-env", "--mode=deploy-prod", "--env", "prodution", "--yes"],
        "did you mean 'production'",
    ),
    "unknown target": (
        ["sync-env", "--mode=deploy-prod", "--env", "sandbox", "--yes", "--target", "CONVEXX"],
        "did you mean 'CONVEXX' -> 'CONVEX'",
    ),
    "unknown key": (
        ["sync-env", "--mode=deploy-prod", "--env", "sandbox", "--yes", "--only", "APP_ENVV"],
        "'APP_ENVV' -> 'APP_ENV'",
    ),
    "column mismatch": (["sync-env", "--mode=deploy-dev", "--env", "sandbox"], "--mode=deploy-prod"),
    "no confirmation": (["sync-env", "--mode=deploy-prod", "--env", "sandbox"], "pass --yes"),
    "lock timeout not a number": (["sync-env", "--lock-timeout", "soon"], "invalid float value"),
    "drift unknown env": (["drift", "--env", "staging"], "staging"),
    "drift unknown target": (["drift", "--env", "sandbox", "--target", "NEXTJSS"], "NEXTJSS"),
    "drift bad format": (["drift", "--format", "xml"], "invalid choice: 'xml'"),
    "rollback without env": (["rollback", "pages"], "--env"),
    "rollback in production without reason": (
        ["rollback", "pages", "--env", "production", "--yes"],
        "--reason",
    ),
    "rollback unknown severity": (["rollback", "advise", "--severity", "dire", "--impact", "all"], "dire"),
    "verify without env": (["verify"], "missing ENV"),
}


@pytest.mark.parametrize("name", list(BAD_ARGS))
def test_wrong_arguments_are_refused(name, workspace, admin, run_cli, request) -> None:  # type: ignore[no-untyped-def]
    """Wrong arguments exit 2 with a message saying what is wrong, before any request or write."""
    argv, expected = BAD_ARGS[name]
    tag(
        request,
        f"wrong CLI arguments ({len(BAD_ARGS)} cases)",
        argv[0] if argv[0] in ("sync-env", "drift", "rollback", "verify") else "deploycheck",
    )
    if argv[0] in ("sync-env", "drift", "rollback"):
        argv = [*argv, "--config", str(CONFIG)]
    run = run_cli(argv)
    assert_refused(run, admin, workspace)
    assert re.search(re.escape(expected), run.text), run.text


def test_broken_check_module_fails_verification(workspace, run_cli, tmp_path, monkeypatch, request) -> None:  # type: ignore[no-untyped-def]
    """A check file that does not import makes verify exit 1 (a failed verification) naming it, not 130."""
    tag(request, "check module that does not import", "verify")
    project = tmp_path / "project"
    (project / "checks").mkdir(parents=True)
    (project / "deploycheck.yaml").write_bytes(CONFIG.read_bytes())
    (project / "checks" / "test_broken.py").write_text("def test_x(:\n    pass\n")
    monkeypatch.chdir(project)
    argv = [
        "verify",
        "sandbox",
        "--config",
        str(project / "deploycheck.yaml"),
        "--report-dir",
        str(workspace.reports),
    ]
    run = run_cli([*argv, "checks", "-q", "-p", "no:cacheprovider", "--import-mode=importlib"])
    assert run.code == 1, run.text[-2000:]
    assert "test_broken.py" in run.text and "FAILED" in run.text
