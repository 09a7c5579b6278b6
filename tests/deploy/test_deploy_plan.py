"""Deploy plans: order, platform selection, default and configured commands, bad input."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from deploycheck.config import load_config
from deploycheck.deploy import default_command, deploy_order, plan_deploy, resolve_command
from deploycheck.errors import ConfigError, UsageError

ROOT = Path(__file__).resolve().parents[2]


def test_the_repository_config_deploys_convex_then_worker_then_pages_in_the_sandbox():
    """deploycheck.yaml's sandbox deploys in order with production's wrangler commands, in the example Worker."""
    config = load_config(ROOT / "deploycheck.yaml")
    plan = plan_deploy(config, "sandbox")
    assert plan.platforms == ("convex", "cloudflare-worker", "cloudflare-pages")
    assert not plan.stop_on_failure
    convex, worker, pages = plan.steps
    assert convex.argv[:3] == ("npx", "--no-install", "convex") and convex.cwd == ROOT / "fixtures" / "example"
    assert worker.argv == ("npx", "wrangler", "deploy", "--env", "production", "--keep-vars")
    assert worker.resource == "log-ingestion" and worker.cwd == ROOT / "fixtures" / "example" / "worker"
    assert worker.timeout == 600
    assert pages.argv[:4] == ("npx", "wrangler", "pages", "deploy") and pages.cwd == worker.cwd


def test_a_deploy_cwd_that_does_not_exist_stops_the_plan():
    """Production's commands run in apps/...; without those folders the plan is a ConfigError naming them."""
    config = load_config(ROOT / "deploycheck.yaml")
    if (ROOT / "apps" / "convex").is_dir():
        pytest.skip("the production app folders exist in this checkout")
    with pytest.raises(ConfigError) as caught:
        plan_deploy(config, "production")
    paths = {p.path for p in caught.value.problems}
    assert "targets.CONVEX.environments.production.deploy_cwd" in paths


def test_order_comes_from_the_config_completed_with_the_remaining_platforms(project):
    """deploy.order may name some platforms; the others follow in the default order."""
    config = project.write(order=["cloudflare-pages"])
    assert deploy_order(config) == ("cloudflare-pages", "convex", "cloudflare-worker")
    assert plan_deploy(config, "staging").platforms == ("cloudflare-pages", "convex", "cloudflare-worker")


def test_order_naming_a_target_instead_of_a_platform_is_a_config_error(project):
    """A target name in deploy.order is reported with its line and the valid platforms."""
    config = project.write(order=["CONVEX"])
    with pytest.raises(ConfigError) as caught:
        plan_deploy(config, "staging")
    problem = caught.value.problems[0]
    assert problem.path == "deploy.order[0]" and problem.line is not None
    assert "valid: convex, cloudflare-worker, cloudflare-pages" in problem.message


def test_unknown_and_undeployed_platforms_are_reported_together(project):
    """--platform github-actions and --platform nope give one UsageError with both problems."""
    config = project.write()
    with pytest.raises(UsageError) as caught:
        plan_deploy(config, "staging", ["github-actions", "nope"])
    assert len(caught.value.problems) == 2
    assert caught.value.exit_code == 2


def test_commands_that_cannot_be_split_and_missing_folders_are_config_errors(project):
    """An unbalanced quote and a deploy_cwd that does not exist are both reported."""
    project.write()
    path = project.root / "deploycheck.yaml"
    text = path.read_text()
    text = text.replace("project: web\n", "project: web\n        deploy_cwd: missing/dir\n", 1)
    text = text.replace("deployment: dep-1\n", "deployment: dep-1\n        deploy_timeout: 5\n", 1)
    text = text.replace("fake_deploy.py convex ok", 'fake_deploy.py "convex ok', 1)
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        plan_deploy(load_config(path), "staging")
    messages = " ".join(p.message for p in caught.value.problems)
    assert "cannot split the command" in messages and "is not a folder" in messages


def test_default_commands_are_the_vendor_clis():
    """Without deploy_command: convex deploy, wrangler deploy, wrangler pages deploy of the export."""
    assert default_command("convex", "prod-x") == "npx convex deploy --yes"
    assert default_command("cloudflare-worker", "api") == "npx wrangler deploy"
    assert default_command("cloudflare-pages", "app-web") == (
        "npx wrangler pages deploy out --project-name app-web --branch main"
    )


def test_deploycheck_word_runs_this_interpreter():
    """A leading `deploycheck` becomes `python -m deploycheck`; other commands are unchanged."""
    assert resolve_command(["deploycheck", "sandbox", "upload"]) == [
        sys.executable,
        "-m",
        "deploycheck",
        "sandbox",
        "upload",
    ]
    assert resolve_command(["npx", "deploycheck"]) == ["npx", "deploycheck"]


def test_a_git_push_for_pages_waits_for_the_platform_build(project):
    """A Pages deploy_command that is a git push is marked as triggering the platform's build."""
    project.write()
    path = project.root / "deploycheck.yaml"
    text = path.read_text()
    start = text.index("deploy_command", text.index("project: web"))
    end = text.index("\n", start)
    path.write_text(text[:start] + "deploy_command: git push origin main" + text[end:])
    steps = {s.platform: s for s in plan_deploy(load_config(path), "staging").steps}
    assert steps["cloudflare-pages"].triggered
    assert not steps["convex"].triggered
