"""`deploycheck deploy --env sandbox` end to end: real deploy commands, real HTTP to the emulators.

The sandbox deploys the Worker and the Pages site with production's own commands
(`npx wrangler deploy`, `npx wrangler pages deploy`), so the tests that deploy need the
wrangler pinned in fixtures/example/worker: skipped with the install command when it is
absent, an error when DEPLOYCHECK_REQUIRE_WRANGLER=1 (the tox env sets it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from deploycheck.cli import main
from deploycheck.config import load_config
from deploycheck.platforms import open_target
from deploycheck.sandbox import SandboxInfo

pytestmark = pytest.mark.sandbox

ROOT = Path(__file__).resolve().parents[2]
#: request paths that deploy code (what the deploy commands send)
UPLOADS = ("/workers/scripts/log-ingestion", "/pages/projects/app-web/deployments", "/api/deploy2/finish_push")


@pytest.fixture(autouse=True)
def _convex_cli_installed() -> None:
    """The sandbox environment deploys Convex with the example app's pinned CLI."""
    if not (ROOT / "fixtures" / "example" / "node_modules" / "convex" / "package.json").is_file():
        msg = "the Convex CLI is not installed; run: npm ci --prefix fixtures/example"
        if os.environ.get("DEPLOYCHECK_REQUIRE_CONVEX_CLI") == "1":
            pytest.fail(msg)
        pytest.skip(msg)


@pytest.fixture
def synced(sandbox_env: dict[str, str], tmp_path: Path) -> Path:
    """The sandbox synced from the example table (so the gate passes); returns the state dir."""
    state = tmp_path / "state"
    assert (
        main(["sync-env", "--mode=deploy-prod", "--env", "sandbox", "--yes", "--state-dir", str(state)]) == 0
    )
    return state


def deploy(state: Path, tmp_path: Path, *extra: str) -> int:
    """Run `deploycheck deploy --env sandbox --yes` with the test's state and report folders."""
    args = [
        "deploy",
        "--env",
        "sandbox",
        "--yes",
        "--state-dir",
        str(state),
        "--report-dir",
        str(tmp_path / "reports"),
    ]
    return main([*args, *extra])


def adapters() -> dict[str, object]:
    """The Pages, Worker and Convex adapters of the sandbox environment."""
    config = load_config(ROOT / "deploycheck.yaml")
    return {
        name: open_target(config, config.targets[name], "sandbox")
        for name in ("NEXTJS", "CLOUDFLARE_WORKER", "CONVEX")
    }


def pushes(convex: object) -> int:
    """How many code pushes the Convex audit log holds."""

    events = convex.client.json(  # type: ignore[attr-defined]
        convex.client.request(  # type: ignore[attr-defined]
            "GET", "/api/v1/list_audit_log_events", operation="list", params={"from": 0, "limit": 100}
        ),
        "list",
    )["items"]
    times = [e["createTime"] for e in events if e["action"] == "push_config"]
    assert convex.last_push(0)[0] == (max(times) if times else None)  # the reader the deploy uses agrees
    return len(times)


def audit(state: Path) -> list[dict[str, object]]:
    """The deploy events of the audit log in ``state``."""
    lines = (state / "app.example.com.audit.jsonl").read_text().splitlines()
    return [e for e in map(json.loads, lines) if e.get("operation") == "deploy"]


def test_deploy_creates_a_new_deployment_on_every_platform_and_verifies(
    synced: Path, wrangler: None, tmp_path: Path, sandbox: SandboxInfo, capsys: pytest.CaptureFixture[str]
) -> None:
    """All three platforms get a new live deployment, visible through the vendor APIs; checks pass."""
    site = adapters()
    pages_before = site["NEXTJS"].active_deployment().id  # type: ignore[attr-defined]
    worker_before = site["CLOUDFLARE_WORKER"].active_version()  # type: ignore[attr-defined]
    pushes_before = pushes(site["CONVEX"])
    code = deploy(synced, tmp_path)
    output = capsys.readouterr().out
    if "Verification: NOT RUN" in output:
        pytest.skip(
            "the deployment checks are not available: " + output.split("Verification: NOT RUN")[1][:200]
        )
    assert code == 0, output
    pages_now = site["NEXTJS"].active_deployment()  # type: ignore[attr-defined]
    worker_now = site["CLOUDFLARE_WORKER"].active_version()  # type: ignore[attr-defined]
    assert pages_now.id != pages_before and worker_now != worker_before
    assert pushes(site["CONVEX"]) == pushes_before + 1
    html = requests.get(f"{sandbox.pages_url}/", timeout=5).text
    assert f'<meta name="deploycheck-deployment" content="{pages_now.id}">' in html
    assert requests.get(f"{sandbox.worker_url}/health", timeout=5).json()["version"] == worker_now
    events = {e["platform"]: e for e in audit(synced)}
    assert events["cloudflare-pages"]["produced"] == {
        "deployment_id": pages_now.id,
        "source_commit": pages_now.commit,
        "live": True,
    }
    assert events["cloudflare-worker"]["produced"]["version_id"] == worker_now
    assert events["cloudflare-worker"]["before"]["active"] == worker_before
    assert events["convex"]["result"] == "deployed" and "pushed_at" in events["convex"]["produced"]
    assert "Verification: PASSED" in output
    assert (tmp_path / "reports" / "results.json").is_file()
    assert output.rstrip().endswith("Result: OK")


def test_a_failing_worker_upload_leaves_the_other_platforms_deployed(
    synced: Path, wrangler: None, tmp_path: Path, sandbox_admin, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 500 on the Worker upload fails only the Worker; Convex and Pages deploy; exit 1 with rollbacks."""
    site = adapters()
    pages_before = site["NEXTJS"].active_deployment().id  # type: ignore[attr-defined]
    worker_before = site["CLOUDFLARE_WORKER"].active_version()  # type: ignore[attr-defined]
    sandbox_admin.fault(
        service="cloudflare", path="/workers/scripts/log-ingestion/versions$", method="POST", status=500
    )
    code = deploy(synced, tmp_path)
    output = capsys.readouterr().out
    assert code == 1, output
    assert site["CLOUDFLARE_WORKER"].active_version() == worker_before  # type: ignore[attr-defined]
    assert site["NEXTJS"].active_deployment().id != pages_before  # type: ignore[attr-defined]
    summary = output.split("Deploy summary (sandbox):")[1]
    assert "cloudflare-worker (CLOUDFLARE_WORKER)  FAILED    the command exited 1" in summary
    assert "workers/scripts/log-ingestion/versions) failed" in summary  # wrangler's own error line
    assert (
        f"deploycheck rollback cloudflare-pages --env sandbox --to {pages_before} --reason 'incomplete release'"
        in summary
    )
    assert "deploycheck rollback convex --env sandbox" in summary
    assert [(e["platform"], e["result"]) for e in audit(synced)] == [
        ("convex", "deployed"),
        ("cloudflare-worker", "failed"),
        ("cloudflare-pages", "deployed"),
    ]
    assert summary.rstrip().endswith("Result: FAILED")


def test_failing_checks_after_the_deploy_name_the_rollback_to_the_previous_version(
    synced: Path, wrangler: None, tmp_path: Path, sandbox_admin, capsys: pytest.CaptureFixture[str]
) -> None:
    """The Worker reports unhealthy after deploying: verification fails, exit 1, rollback to the old version."""
    worker_before = adapters()["CLOUDFLARE_WORKER"].active_version()  # type: ignore[attr-defined]
    sandbox_admin.fault(service="worker", path="^/health$", health="unhealthy")
    code = deploy(synced, tmp_path)
    output = capsys.readouterr().out
    assert code == 1, output
    summary = output.split("Deploy summary (sandbox):")[1]
    assert "Verification: FAILED" in summary and "failing: cloudflare-worker" in summary
    rollback = (
        f"deploycheck rollback cloudflare-worker --env sandbox --to {worker_before} "
        "--reason 'post-deploy verification failed'"
    )
    assert rollback in summary
    assert "rollback cloudflare-pages" not in summary
    results = json.loads((tmp_path / "reports" / "results.json").read_text())
    assert {c["platform"] for c in results["checks"] if c["outcome"] == "fail"} == {"cloudflare-worker"}


def test_drift_stops_the_deploy_before_any_upload(
    synced: Path, tmp_path: Path, sandbox: SandboxInfo, sandbox_admin, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Convex value changed behind the tool's back: the gate prints the drift, exit 1, nothing uploaded."""
    response = requests.post(
        f"{sandbox.convex_url}/api/v1/update_environment_variables",
        json={"changes": [{"name": "APP_ENV", "value": "staging"}]},
        headers={"Authorization": f"Convex {sandbox.convex_deploy_key}"},
        timeout=5,
    )
    assert response.status_code == 200
    sandbox_admin.clear_requests()
    code = deploy(synced, tmp_path)
    output = capsys.readouterr().out
    assert code == 1, output
    assert "drift found" in output and "APP_ENV" in output
    assert "Deploy stopped by the drift gate" in output
    writes = sandbox_admin.writes()
    assert writes == []
    seen = sandbox_admin.requests()
    assert any(r["path"] == "/api/v1/list_environment_variables" for r in seen)  # the gate read Convex
    assert not any(r["method"] != "GET" and u in r["path"] for r in seen for u in UPLOADS)


def test_a_platform_the_gate_cannot_read_stops_the_deploy(
    synced: Path, tmp_path: Path, sandbox_admin, capsys: pytest.CaptureFixture[str]
) -> None:
    """GitHub answering 503: the gate cannot read it, so nothing is deployed (exit 1)."""
    sandbox_admin.fault(service="github", status=503)
    sandbox_admin.clear_requests()
    code = deploy(synced, tmp_path)
    output = capsys.readouterr().out
    assert code == 1, output
    assert "could not be read" in output
    assert sandbox_admin.writes() == []


def test_dry_run_writes_nothing_to_the_sandbox(
    synced: Path, sandbox_env: dict[str, str], sandbox_admin
) -> None:
    """scripts/deploy --dry-run prints gate, order and commands and sends no write request."""
    sandbox_admin.clear_requests()
    done = subprocess.run(  # noqa: PLW1510 - the exit code is asserted below
        [
            sys.executable,
            str(ROOT / "scripts" / "deploy"),
            "--env",
            "sandbox",
            "--dry-run",
            "--state-dir",
            str(synced),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Gate (drift check of sandbox): no drift" in done.stdout
    assert "Plan (sandbox): convex -> cloudflare-worker -> cloudflare-pages" in done.stdout
    assert "npx wrangler deploy --env production --keep-vars" in done.stdout
    assert "Dry run: nothing was run." in done.stdout
    assert sandbox_admin.writes() == []
