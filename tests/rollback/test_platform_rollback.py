"""Pages and Worker rollbacks against the sandbox's vendor APIs."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from deploycheck.cli import main
from deploycheck.config import load_config
from deploycheck.platforms import open_target

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploycheck.yaml"


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary state dir for the audit log."""
    monkeypatch.setenv("DEPLOYCHECK_STATE_DIR", str(tmp_path))
    return tmp_path


def adapter(name: str):  # type: ignore[no-untyped-def]
    """The sandbox adapter of target ``name`` of the repository's config."""
    config = load_config(CONFIG)
    return open_target(config, config.targets[name], "sandbox")


def rollback(*args: str) -> int:
    """Run ``deploycheck rollback`` with the repository's config."""
    return main(["rollback", *args, "--config", str(CONFIG)])


def expected_worker_target(deployments) -> str:  # type: ignore[no-untyped-def]
    """wrangler's choice: newest first, drop the current one, first with one version at 100%."""
    ordered = sorted(deployments, key=lambda d: d.created_on, reverse=True)[1:]
    return next(d.versions[0][0] for d in ordered if len(d.versions) == 1 and d.versions[0][1] == 100)


def test_pages_rollback_activates_the_previous_deployment(sandbox_env, sandbox_admin, state_dir, capsys) -> None:  # type: ignore[no-untyped-def]
    """The previous successful production deployment becomes active and the site serves it."""
    pages = adapter("NEXTJS")
    deployments = pages.list_deployments()
    current = pages.active_deployment()
    previous = next(d for d in deployments if d.created_on < current.created_on and d.status == "success")
    assert rollback("pages", "--env", "sandbox", "--yes", "--reason", "broken build", "--no-verify") == 0
    out = capsys.readouterr().out
    assert "plain vars:" in out and "Durable Object state:" in out
    assert pages.active_deployment().id == previous.id
    page = requests.get(sandbox_env["APP_URL"], timeout=5).text
    assert f'content="{previous.id}"' in page
    assert [w["method"] for w in sandbox_admin.writes()] == ["POST"]


def test_pages_rollback_to_a_named_deployment(sandbox_env, state_dir) -> None:  # type: ignore[no-untyped-def]
    """``--to ID`` activates that deployment."""
    pages = adapter("NEXTJS")
    oldest = pages.list_deployments()[-1]
    assert rollback("pages", "--env", "sandbox", "--to", oldest.id, "--yes", "--reason", "r", "--no-verify") == 0
    assert pages.active_deployment().id == oldest.id


def test_pages_unknown_deployment_is_a_usage_error(sandbox_env, sandbox_admin, state_dir, capsys) -> None:  # type: ignore[no-untyped-def]
    """An unknown ``--to`` exits 2 naming recent deployments, and writes nothing."""
    assert rollback("pages", "--env", "sandbox", "--to", "nope", "--yes", "--reason", "r") == 2
    assert "no version, deployment or commit 'nope'" in capsys.readouterr().err
    assert sandbox_admin.writes() == []


def test_worker_rollback_with_config_follows_wranglers_choice(sandbox_env, sandbox_admin, state_dir, capsys) -> None:  # type: ignore[no-untyped-def]
    """With ``--with-config`` the Worker goes back to the previous release's version itself (on the
    seeded history, the one wrangler would pick) and reports its Durable Object state version."""
    worker = adapter("CLOUDFLARE_WORKER")
    expected = expected_worker_target(worker.list_deployments())
    assert rollback("worker", "--env", "sandbox", "--yes", "--with-config", "--reason", "errors",
                    "--no-verify") == 0  # fmt: skip
    out = capsys.readouterr().out
    assert worker.active_version() == expected
    assert "Durable Object state: state version" in out
    health = requests.get(sandbox_env["WORKER_URL"] + "/health", timeout=5).json()
    assert health["version"] == expected
    assert f"expects {health['expected_state_version']}" in out


def test_worker_rollback_across_changed_secrets_needs_force(sandbox_env, sandbox_admin, state_dir, capsys) -> None:  # type: ignore[no-untyped-def]
    """With ``--with-config``, when a secret changed since the target version the rollback names it
    and needs --force."""
    worker = adapter("CLOUDFLARE_WORKER")
    worker.put_secret("ROLLBACK_TEST_SECRET", "first-value-123")
    worker.put_secret("ROLLBACK_TEST_SECRET", "second-value-456")
    target = next(v.id for v in worker.list_versions() if v.message == "release 2")
    capsys.readouterr()
    assert rollback("worker", "--env", "sandbox", "--yes", "--with-config", "--reason", "r", "--no-verify") == 1
    err = capsys.readouterr().err
    assert "ROLLBACK_TEST_SECRET" in err and "--force" in err
    assert worker.active_version() != target
    assert rollback("worker", "--env", "sandbox", "--yes", "--with-config", "--force", "--reason",
                    "accept old secret", "--no-verify") == 0
    assert worker.active_version() == target


@pytest.mark.parametrize("platform", ["cloudflare-pages", "cloudflare-worker", "all"])
def test_dry_run_makes_no_write_request(platform, sandbox_env, sandbox_admin, state_dir, capsys) -> None:  # type: ignore[no-untyped-def]
    """``--dry-run`` prints the plan and sends zero write requests."""
    assert rollback(platform, "--env", "sandbox", "--dry-run", "--reason", "drill") == 0
    out = capsys.readouterr().out
    assert "Plan:" in out and "Dry run: nothing was changed." in out
    assert sandbox_admin.writes() == []
    assert not list(state_dir.glob("*.audit.jsonl"))


def test_rollback_is_audited_without_values(sandbox_env, state_dir) -> None:  # type: ignore[no-untyped-def]
    """Each rollback appends one audit event naming env, platform, target, refs and reason."""
    import json

    assert rollback("worker", "--env", "sandbox", "--yes", "--reason", "audit me", "--no-verify") == 0
    [line] = next(state_dir.glob("*.audit.jsonl")).read_text().splitlines()
    event = json.loads(line)
    assert (event["operation"], event["env"], event["platform"], event["reason"], event["result"]) == (
        "rollback", "sandbox", "cloudflare-worker", "audit me", "ok")


def test_all_rolls_back_in_order(sandbox_env, sandbox_admin, state_dir, capsys) -> None:  # type: ignore[no-untyped-def]
    """``rollback all`` rolls Pages back before the Worker and skips what has nothing to roll back to."""
    assert rollback("all", "--env", "sandbox", "--yes", "--reason", "incident", "--no-verify") == 0
    out = capsys.readouterr().out
    assert out.index("-> cloudflare-pages") < out.index("-> cloudflare-worker")
    assert "== Rollback of convex" in out and "nothing to do: no earlier commit changed" in out
    paths = [w["path"] for w in sandbox_admin.writes()]
    assert paths and "pages" in paths[0] and "workers" in paths[1]


def test_rollback_verifies_with_the_platform_checks(sandbox_env, state_dir, capsys) -> None:  # type: ignore[no-untyped-def]
    """After a real rollback of a synced sandbox the Pages checks run as ``pytest --env`` and pass."""
    sync = ["sync-env", "--mode=deploy-prod", "--env", "sandbox", "--yes", "--state-dir", str(state_dir)]
    assert main([*sync, "--config", str(CONFIG)]) == 0
    capsys.readouterr()
    assert rollback("pages", "--env", "sandbox", "--yes", "--reason", "verify") == 0
    assert "checks: passed" in capsys.readouterr().out
