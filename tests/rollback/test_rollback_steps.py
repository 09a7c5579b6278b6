"""The state steps of ``rollback.steps.<TARGET>`` and ``rollback list`` of git history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from deploycheck.cli import main
from deploycheck.config import load_config
from deploycheck.errors import ConfigError
from deploycheck.rollback.statesteps import expected_version, load_steps

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploycheck.yaml"
TABLE = ROOT / "fixtures" / "example" / "app.env"


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary state dir for the ledger and the audit log; the example table as the SoT."""
    monkeypatch.setenv("DEPLOYCHECK_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DEPLOYCHECK_SOT", str(TABLE))
    return tmp_path / "state"


def config_with(tmp_path: Path, policy: str) -> Path:
    """The repository's config with the Worker's state check policy set to ``policy``."""
    text = CONFIG.read_text().replace("policy: warn ", f"policy: {policy} ")
    path = tmp_path / "deploycheck.yaml"
    path.write_text(text)
    return path


def audit(state_dir: Path) -> list[dict[str, object]]:
    """The audit events written so far."""
    files = list(state_dir.glob("*.audit.jsonl"))
    return [json.loads(line) for line in files[0].read_text().splitlines()] if files else []


def test_refuse_policy_refuses_a_target_that_cannot_read_the_state(
    tmp_path, sandbox_env, sandbox_admin, state_dir, capsys
) -> None:  # type: ignore[no-untyped-def]
    """With ``policy: refuse`` a target code expecting an older state version than the stored one
    is refused before any write (audited); ``--force --reason`` rolls back anyway."""
    config = str(config_with(tmp_path, "refuse"))
    args = [
        "rollback",
        "worker",
        "--env",
        "sandbox",
        "--yes",
        "--reason",
        "r",
        "--no-verify",
        "--config",
        config,
    ]
    assert main(args) == 1
    captured = capsys.readouterr()
    assert "state check (refuse): stored state version 2; the target code expects 1" in captured.out
    assert "the state check refuses the rollback" in captured.err
    assert sandbox_admin.writes("cloudflare") == []
    assert [e["result"] for e in audit(state_dir)] == ["refused"]
    assert main([*args, "--force"]) == 0
    assert "state check's refusal overridden with --force" in capsys.readouterr().out


def test_warn_policy_warns_and_rolls_back(sandbox_env, sandbox_admin, state_dir, capsys) -> None:  # type: ignore[no-untyped-def]
    """The repository's ``policy: warn`` prints the WARNING in the plan and after, and rolls back."""
    assert main(["rollback", "worker", "--env", "sandbox", "--yes", "--reason", "r", "--no-verify",
                 "--config", str(CONFIG)]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "state check (warn):" in out and "WARNING: the target code expects state version 1" in out
    assert "state check after: stored state version 2; the code now running expects 1" in out


def test_dry_run_shows_every_post_rollback_action(sandbox_env, sandbox_admin, state_dir, capsys) -> None:  # type: ignore[no-untyped-def]
    """``--dry-run`` shows the configured cleanup with its resolved URL and runs nothing."""
    assert main(["rollback", "worker", "--env", "sandbox", "--dry-run", "--config", str(CONFIG)]) == 0
    out = capsys.readouterr().out
    assert f"after: clear-logs: DELETE {sandbox_env['WORKER_URL']}/logs/clear (skipped; default skip" in out
    assert sandbox_admin.writes() == []


def test_action_runs_the_cleanup_and_audits_it(sandbox_env, sandbox_admin, state_dir, capsys) -> None:  # type: ignore[no-untyped-def]
    """``--action clear-logs`` sends ``DELETE /logs/clear`` after the rollback and audits it."""
    url = sandbox_env["WORKER_URL"]
    origin = "https://app.example.com"
    assert requests.post(f"{url}/logs", json={"level": "info", "message": "m"}, headers={"Origin": origin},
                         timeout=5).status_code == 202  # fmt: skip
    assert main(["rollback", "worker", "--env", "sandbox", "--yes", "--reason", "r", "--no-verify",
                 "--action", "clear-logs", "--config", str(CONFIG)]) == 0  # fmt: skip
    assert "after: clear-logs: DELETE" in capsys.readouterr().out
    assert requests.get(f"{url}/logs", headers={"Origin": origin}, timeout=5).json()["logs"] == []
    events = audit(state_dir)
    assert [e["result"] for e in events] == ["action ok", "ok"]
    assert events[0]["action"] == "clear-logs"
    assert events[1]["actions"][0]["result"] == "ok"


def test_skipped_action_is_not_sent(sandbox_env, sandbox_admin, state_dir, capsys) -> None:  # type: ignore[no-untyped-def]
    """An action left at its ``default: skip`` (or named by --skip-action) sends nothing."""
    assert main(["rollback", "worker", "--env", "sandbox", "--yes", "--reason", "r", "--no-verify",
                 "--skip-action", "clear-logs", "--config", str(CONFIG)]) == 0  # fmt: skip
    assert "after: clear-logs: skipped" in capsys.readouterr().out
    assert not [w for w in sandbox_admin.writes() if w["path"].endswith("/logs/clear")]


def test_unknown_action_is_a_usage_error(sandbox_env, sandbox_admin, state_dir, capsys) -> None:  # type: ignore[no-untyped-def]
    """An unknown ``--action`` exits 2 naming the configured ones, before any write."""
    assert main(["rollback", "worker", "--env", "sandbox", "--yes", "--reason", "r", "--action", "nope",
                 "--config", str(CONFIG)]) == 2  # fmt: skip
    assert "no post-rollback action nope; valid: clear-logs" in capsys.readouterr().err
    assert sandbox_admin.writes() == []


def test_bad_steps_are_config_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """An unknown policy is refused when the config loads, naming file:line and the key path."""
    path = config_with(tmp_path, "sometimes")
    with pytest.raises(
        ConfigError, match=r"deploycheck.yaml:\d+: rollback.steps.CLOUDFLARE_WORKER.state_check"
    ):
        load_steps(load_config(path), "CLOUDFLARE_WORKER")


def test_expected_version_reads_the_highest_match() -> None:
    """The state version a code expects is the highest the pattern finds in its modules."""
    files = {"a.js": b"const EXPECTED_STATE_VERSION = 2;", "b.js": b"EXPECTED_STATE_VERSION=3"}
    assert expected_version(files, r"EXPECTED_STATE_VERSION\s*=\s*(\d+)") == 3
    assert expected_version({"c.js": b"nothing"}, r"V=(\d+)") is None


def test_list_convex_shows_the_commits_of_its_folder(git_app, capsys) -> None:  # type: ignore[no-untyped-def]
    """For Convex, ``rollback list`` shows the commits that changed the folder, the running one
    first, schema changes marked, and the default target (the change before it)."""
    first = git_app.commit("export default {};\n", "first schema")
    (git_app.root / "README.md").write_text("not convex\n")
    git_app.git("add", "-A")
    git_app.git("commit", "-q", "-m", "docs only")
    (git_app.root / "convex" / "messages.ts").write_text("// changed\n")
    git_app.git("add", "-A")
    git_app.git("commit", "-q", "-m", "code only")
    head = git_app.git("rev-parse", "HEAD")
    config = str(git_app.root / "deploycheck.yaml")
    assert (
        main(["rollback", "list", "convex", "--env", "sandbox", "--format", "json", "--config", config]) == 0
    )
    document = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in document["revisions"]] == [head, first]
    assert document["revisions"][0]["active"] and document["revisions"][0]["changes"] == ["code"]
    assert document["revisions"][1]["changes"] == ["code", "schema"]
    assert document["code_rollback_target"] == first
    assert document["revisions"][0]["author"] == "Test <test@example.com>"
