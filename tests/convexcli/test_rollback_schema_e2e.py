"""End to end: `deploycheck rollback convex` across a breaking schema change, with the real Convex CLI.

A git repository holds the example app at two commits; the newer one (deployed with
`npx convex deploy`) adds a required field, and documents holding it are stored. Rolling
back to the older commit is stopped by the schema guard before anything reaches the
deployment; forced with a reason, the real `npx convex deploy` of the older code is
refused by the sandbox's schema validation, and the rollback says so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from deploycheck.sandbox import SandboxInfo
from deploycheck.sandbox.admin import AdminClient

from .conftest import TIMEOUT_S, CliRun, cli_environ

pytestmark = pytest.mark.sandbox

DEPLOYMENT = "prod-graceful-shrimp-355"
PUSH_PATHS = ("/api/deploy2/start_push", "/api/deploy2/finish_push", "/api/push_config")
CONFIG = """\
project: rollback-e2e
default_env: sandbox
sot: app.env
environments:
  sandbox:
    remote: true
    values: prod
    sandbox: true
targets:
  CONVEX:
    platform: convex
    environments:
      sandbox:
        deployment: prod-graceful-shrimp-355
        deploy_command: npx --no-install convex deploy --typecheck=disable --yes
        deploy_cwd: app
rollback:
  order: [convex]
  convex_dir: app/convex
"""


def git(root: Path, *args: str) -> str:
    """Run git in ``root`` and return its output."""
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def deployment(admin: AdminClient) -> dict[str, object]:
    """The emulated Convex deployment's state."""
    return admin.state()["convex"]["deployments"][DEPLOYMENT]  # type: ignore[no-any-return]


@pytest.fixture
def repo(app: Path) -> Path:
    """A git repository around the example app copy: commit 1 as shipped, commit 2 adds `channel`."""
    root = app.parent
    (root / "deploycheck.yaml").write_text(CONFIG)
    (root / "app.env").write_text("| TARGET | GROUP | KEY | DEV_VALUE | PROD_VALUE |\n|---|---|---|---|---|\n")
    (root / ".gitignore").write_text("node_modules\n_generated\nstate/\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "test@example.com")
    git(root, "config", "user.name", "Test")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "messages without channel")
    schema = app / "convex" / "schema.ts"
    text = schema.read_text(encoding="utf-8")
    assert "  body: v.string(),\n" in text
    schema.write_text(text.replace("  body: v.string(),\n", "  body: v.string(),\n  channel: v.string(),\n"))
    git(root, "commit", "-q", "-am", "messages.channel (required)")
    return root


def rollback(repo: Path, sandbox: SandboxInfo, *args: str) -> subprocess.CompletedProcess[str]:
    """`deploycheck rollback convex --env sandbox --to HEAD~1 --yes --no-verify ARGS` with the sandbox's env."""
    environ = {**cli_environ(sandbox), "DEPLOYCHECK_STATE_DIR": str(repo / "state")}
    code = "import sys; from deploycheck.cli import main; sys.exit(main())"
    command = ["rollback", "convex", "--config", str(repo / "deploycheck.yaml"), "--env", "sandbox",
               "--to", "HEAD~1", "--yes", "--no-verify", *args]  # fmt: skip
    return subprocess.run(
        [sys.executable, "-c", code, *command],
        cwd=repo,
        env=environ,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S * 2,
        check=False,
    )


def audit(repo: Path) -> list[dict[str, object]]:
    """The audit log's events."""
    (path,) = (repo / "state").glob("*.audit.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_breaking_rollback_is_stopped_by_the_guard_and_refused_by_the_deployment_when_forced(
    repo: Path, sandbox: SandboxInfo, sandbox_admin: AdminClient, convex_cli: Callable[..., CliRun]
) -> None:
    """Guard: exit 1, the difference named, read in Node, no push request. Forced: the real CLI's push is
    refused by the sandbox's schema validation; exit 1 naming convex and the deploy, audited as forced, failed."""
    if os.environ.get("DEPLOYCHECK_CONVEX_MODULES"):
        pytest.skip("the rollback's deploy_command is the pinned CLI of fixtures/example")
    deployed = convex_cli("deploy", "--typecheck=disable", "--yes")
    assert deployed.returncode == 0, deployed.output
    (doc_id,) = sandbox_admin.seed_convex_documents(
        "messages", [{"author": "ann", "body": "hello", "channel": "general"}]
    )
    live = deployment(sandbox_admin)
    assert "channel" in json.dumps(live["schema"])

    sandbox_admin.clear_requests()
    stopped = rollback(repo, sandbox, "--reason", "bad release")
    out = stopped.stdout + stopped.stderr
    assert stopped.returncode == 1, out
    assert "schemas read by: evaluated in Node" in stopped.stdout, out
    assert "messages.channel: field added (current: v.string(); target: -)" in out
    assert "SchemaGuardError" in stopped.stderr, out
    assert not [e for e in sandbox_admin.requests("convex") if e["path"] in PUSH_PATHS]
    assert sandbox_admin.writes("convex") == []
    assert deployment(sandbox_admin) == live
    assert [e["result"] for e in audit(repo)] == ["refused"]

    forced = rollback(repo, sandbox, "--force", "--reason", "channel data migrated by hand")
    out = forced.stdout + forced.stderr
    assert forced.returncode == 1, out
    assert "!! convex: breaking schema changes overridden with --force: channel data migrated by hand" in out
    assert "convex: the deploy command 'npx --no-install convex deploy --typecheck=disable --yes' exited 1 at HEAD~1" in out
    assert "Schema validation failed" in out, out
    assert f'Document with ID "{doc_id}" in table "messages" does not match the schema' in out, out
    assert "Object contains extra field `channel`" in out, out
    assert "-> convex:" not in out and " OK" not in out and "Convex code deployed" not in out
    assert "Traceback" not in out
    assert "the deployment refused the target's schema" in out
    started = [e for e in sandbox_admin.requests("convex") if e["path"] == "/api/deploy2/start_push"]
    assert len(started) == 1  # the push did reach the deployment, which refused it
    after = deployment(sandbox_admin)
    assert after["pushes"] == live["pushes"] and after["schema"] == live["schema"]
    assert after["documents"] == live["documents"]
    event = audit(repo)[-1]
    assert (event["result"], event["forced"], event["reason"]) == ("failed", True, "channel data migrated by hand")
    assert event["schema_guard_overridden"] is True
    assert "Node" in str(event["schema_read_by"])
    assert "messages.channel: field added" in str(event["breaking_changes"])
    assert "Schema validation failed" in str(event["error"])
