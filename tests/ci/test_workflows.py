"""The example workflows' steps and the reusable action, run for real against the sandbox.

A local runner (``ci.runner``) executes the steps of ``action.yml`` and of the jobs in
``.github/workflows/`` with the environment GitHub Actions provides (GITHUB_SHA,
GITHUB_REF, GITHUB_REPOSITORY, GITHUB_RUN_ID, GITHUB_STEP_SUMMARY, GITHUB_OUTPUT, CI=true),
the sandbox standing in for the vendors and for the GitHub API.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from ci.actions import REPO, clean_environ
from ci.runner import Runner
from deploycheck.cli import main
from deploycheck.sandbox import SandboxInfo
from deploycheck.sandbox.upload import upload_pages

pytestmark = pytest.mark.sandbox

WORKFLOWS = REPO / ".github" / "workflows"
LABEL = "deploycheck-drift"
#: the action installs deploycheck with pip; the tests run in an environment that has it
SKIP_INSTALL = ("Install deploycheck",)


def secrets_of(sandbox: SandboxInfo) -> dict[str, str]:
    """The repository secrets the workflows read, holding the sandbox's credentials and the example table."""
    return {
        "CLOUDFLARE_API_TOKEN": sandbox.cloudflare_api_token,
        "CLOUDFLARE_ACCOUNT_ID": sandbox.cloudflare_account_id,
        # the sandbox is a self-hosted Convex backend: the CLI's own pair (a deploy key sends it to the cloud)
        "CONVEX_SELF_HOSTED_URL": sandbox.convex_url,
        "CONVEX_SELF_HOSTED_ADMIN_KEY": sandbox.convex_self_hosted_admin_key,
        "DEPLOYCHECK_GITHUB_TOKEN": sandbox.github_token,
        "DEPLOYCHECK_SOT_TABLE": (REPO / "fixtures" / "example" / "app.env").read_text(),
    }


@pytest.fixture
def runner(
    tmp_path: Path,
    workspace: Path,
    actions_env: dict[str, str],
    sandbox: SandboxInfo,
    sandbox_env: dict[str, str],
) -> Runner:
    """A runner whose steps see the Actions variables, the sandbox's vendor URLs and a state dir in tmp."""
    environ = clean_environ(**{
        **actions_env,
        # the sandbox's URLs; its GitHub emulator is the API the workflow token talks to
        "CLOUDFLARE_API_BASE_URL": sandbox.cloudflare_api_base_url,
        "CONVEX_URL": sandbox.convex_url,
        "APP_URL": sandbox.pages_url,
        "WORKER_URL": sandbox.worker_url,
        "DEPLOYCHECK_SANDBOX_ADMIN_URL": sandbox.admin_url,
        "GITHUB_API_URL": sandbox.github_api_url,
        "GITHUB_REPOSITORY": sandbox.github_repository,
        "GITHUB_WORKSPACE": str(workspace),
        "DEPLOYCHECK_STATE_DIR": str(tmp_path / "state"),
        "DEPLOYCHECK_HTTP_TIMEOUT": "5",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    })  # fmt: skip
    github = {"token": sandbox.github_token, "sha": actions_env["GITHUB_SHA"], "event_name": "workflow_dispatch",
              "repository": sandbox.github_repository, "run_id": actions_env["GITHUB_RUN_ID"]}  # fmt: skip
    return Runner(REPO, tmp_path, environ, github=github, secrets=secrets_of(sandbox), skip=SKIP_INSTALL)


def credentials(sandbox: SandboxInfo) -> dict[str, str]:
    """The step env a workflow gives the action: the vendor credentials from its secrets."""
    return {
        "CLOUDFLARE_API_TOKEN": sandbox.cloudflare_api_token,
        "CLOUDFLARE_ACCOUNT_ID": sandbox.cloudflare_account_id,
        "CONVEX_SELF_HOSTED_URL": sandbox.convex_url,
        "CONVEX_SELF_HOSTED_ADMIN_KEY": sandbox.convex_self_hosted_admin_key,
        "GITHUB_TOKEN": sandbox.github_token,
    }


def sync(runner: Runner) -> None:
    """`deploycheck sync-env --mode=deploy-prod` of the sandbox, with the runner's state dir."""
    state = runner.environ["DEPLOYCHECK_STATE_DIR"]
    assert main(["sync-env", "--mode=deploy-prod", "--env", "sandbox", "--yes", "--state-dir", state,
                 "--config", str(REPO / "deploycheck.yaml")]) == 0  # fmt: skip


def drift_issues(sandbox: SandboxInfo, state: str = "all") -> list[dict[str, Any]]:
    """The repository's drift issues as the GitHub API lists them, oldest first."""
    response = requests.get(
        f"{sandbox.github_api_url}/repos/{sandbox.github_repository}/issues",
        params={"labels": LABEL, "state": state, "direction": "asc"},
        headers={"Authorization": f"Bearer {sandbox.github_token}"}, timeout=10,
    )  # fmt: skip
    response.raise_for_status()
    return response.json()


def comments(sandbox: SandboxInfo, number: int) -> list[str]:
    """The comment bodies of an issue."""
    url = f"{sandbox.github_api_url}/repos/{sandbox.github_repository}/issues/{number}/comments"
    response = requests.get(url, headers={"Authorization": f"Bearer {sandbox.github_token}"}, timeout=10)
    return [c["body"] for c in response.json()]


def drop_github_secret(sandbox: SandboxInfo, name: str) -> None:
    """Out-of-band drift: delete one Actions secret of the production environment through the API."""
    url = f"{sandbox.github_api_url}/repos/{sandbox.github_repository}/environments/production/secrets/{name}"
    response = requests.delete(url, headers={"Authorization": f"Bearer {sandbox.github_token}"}, timeout=10)
    assert response.status_code == 204, response.text


def secret_values() -> list[str]:
    """Every secret value of the example table (what no issue, comment, summary or output may show)."""
    from deploycheck.config import load_config
    from deploycheck.sot import load_sot

    config = load_config(REPO / "deploycheck.yaml")
    return load_sot(REPO / "fixtures" / "example" / "app.env", config).secret_values()


def assert_no_secret(*texts: str) -> None:
    """No secret value, nor any 8-character piece of one, appears in ``texts``."""
    joined = "\n".join(texts)
    values = secret_values()
    assert len(values) >= 5  # the table's secrets were found: the check below can fail
    for value in values:
        pieces = {value[i : i + 8] for i in range(max(1, len(value) - 7))}
        assert not any(piece in joined for piece in pieces), "a secret leaked"


def run_drift_job(runner: Runner):
    """Run the job of drift.yml (on demand) for the sandbox environment."""
    return runner.run_job(WORKFLOWS / "drift.yml", "drift", {"environment": "sandbox"})


def test_drift_workflow_opens_updates_and_closes_one_issue(runner: Runner, sandbox: SandboxInfo):
    """Clean: no issue; new drift opens one; more drift updates it; the same drift leaves it; clean closes it."""
    sync(runner)
    clean = run_drift_job(runner)
    assert clean.outcome == "success", clean.log
    assert clean.step("Detect drift in sandbox").outputs["verdict"] == "PASSED"
    assert drift_issues(sandbox) == []

    drop_github_secret(sandbox, "SLACK_WEBHOOK_URL")
    opened = run_drift_job(runner)
    assert opened.outcome == "failure", opened.log  # drift fails the job, after the issue step ran
    outputs = opened.step("Detect drift in sandbox").outputs
    assert outputs["verdict"] == "FAILED" and outputs["drift_findings"] == "1"
    assert opened.step("Open, update or close the drift issue").outcome == "success", opened.log
    [issue] = drift_issues(sandbox)
    assert issue["state"] == "open" and issue["title"] == "Configuration drift in sandbox: 1 finding(s)"
    assert "`SLACK_WEBHOOK_URL`" in issue["body"] and issue["user"]["login"] == "github-actions[bot]"
    assert f"/actions/runs/{runner.environ['GITHUB_RUN_ID']}" in issue["body"]
    assert "Drift issue: opened" in opened.summary
    assert_no_secret(issue["body"], opened.summary, opened.log, json.dumps([s.outputs for s in opened.steps]))

    drop_github_secret(sandbox, "CLOUDFLARE_API_TOKEN")
    updated = run_drift_job(runner)
    assert updated.step("Detect drift in sandbox").outputs["drift_findings"] == "2"
    [issue] = drift_issues(sandbox)
    assert (
        issue["title"] == "Configuration drift in sandbox: 2 finding(s)"
        and "`CLOUDFLARE_API_TOKEN`" in issue["body"]
    )
    [change] = comments(sandbox, issue["number"])
    assert change.startswith("Drift changed") and "2 finding(s) now" in change
    assert_no_secret(issue["body"], change, updated.summary, updated.log)

    again = run_drift_job(runner)
    assert again.step("Open, update or close the drift issue").outcome == "success", again.log
    assert len(drift_issues(sandbox)) == 1 and len(comments(sandbox, issue["number"])) == 1

    sync(runner)
    closed = run_drift_job(runner)
    assert closed.outcome == "success", closed.log
    [issue] = drift_issues(sandbox)
    assert issue["state"] == "closed" and issue["state_reason"] == "completed"
    assert comments(sandbox, issue["number"])[-1].startswith("Drift in sandbox is clean")
    assert drift_issues(sandbox, "open") == []


def test_an_unreadable_platform_keeps_the_issue_open(runner: Runner, sandbox: SandboxInfo, sandbox_admin):
    """With drift open and Convex failing, the run cannot say drift is clean: the issue stays open, exit 3."""
    sync(runner)
    drop_github_secret(sandbox, "SLACK_WEBHOOK_URL")
    assert run_drift_job(runner).step("Open, update or close the drift issue").outcome == "success"
    sync(runner)
    sandbox_admin.fault(service="convex", status=500, count=100)
    unsure = run_drift_job(runner)
    step = unsure.step("Open, update or close the drift issue")
    assert step.outcome == "failure" and "[exit 3]" in step.log, unsure.log
    assert "could not be read" in step.log
    [issue] = drift_issues(sandbox)
    assert issue["state"] == "open"


def test_the_action_verifies_the_sandbox_and_reports(runner: Runner, sandbox: SandboxInfo):
    """action.yml with command verify: outputs, the job summary, the uploaded reports and GITHUB_SHA checked."""
    sync(runner)
    upload_pages("app-web", REPO / "fixtures" / "example" / "web", os.environ)  # a deploy of this checkout
    run = runner.run_action({"command": "verify", "environment": "sandbox"}, credentials(sandbox))
    assert run.outcome == "success", run.log
    assert (
        run.outputs["verdict"] == "PASSED" and run.outputs["failed"] == "0" and run.outputs["warned"] == "0"
    )
    assert run.outputs["exit_code"] == "0"
    assert "## Deployment verification: sandbox" in run.summary
    uploaded = run.artifacts / "deploycheck-verify-sandbox"
    assert {"results.json", "junit.xml", "report.html"} <= {p.name for p in uploaded.iterdir()}
    results = json.loads((uploaded / "results.json").read_text())
    expected = [c for c in results["checks"] if "test_pages_expected_deployment" in c["id"]]
    assert [c["outcome"] for c in expected] == ["pass"]  # GITHUB_SHA, the commit uploaded


def test_the_action_fails_when_github_sha_was_not_deployed(runner: Runner, sandbox: SandboxInfo):
    """Control: against the seeded sandbox (not deployed from this checkout) GITHUB_SHA fails the Pages check."""
    sync(runner)
    run = runner.run_action({"command": "verify", "environment": "sandbox", "platforms": "cloudflare-pages"},
                            credentials(sandbox))  # fmt: skip
    assert run.outcome == "failure" and run.outputs["verdict"] == "FAILED" and run.outputs["failed"] == "1"
    assert "test_pages_expected_deployment" in run.summary


def test_the_action_reports_a_failure_in_its_outputs(runner: Runner, sandbox: SandboxInfo, sandbox_admin):
    """A failing check makes the action's step fail with verdict FAILED and failed >= 1, reports still uploaded."""
    sync(runner)
    sandbox_admin.fault(service="worker", status=503, count=1000)
    run = runner.run_action({"command": "verify", "environment": "sandbox", "platforms": "cloudflare-worker",
                             "args": "--expect-commit HEAD"}, credentials(sandbox))  # fmt: skip
    assert run.outcome == "failure"
    assert (
        run.outputs["verdict"] == "FAILED"
        and int(run.outputs["failed"]) >= 1
        and run.outputs["exit_code"] == "1"
    )
    assert (run.artifacts / "deploycheck-verify-sandbox" / "results.json").is_file()
    assert "FAIL" in run.summary


def test_deploy_workflow_gates_deploys_and_verifies_the_deployed_ids(runner: Runner, sandbox: SandboxInfo):
    """deploy.yml: the drift gate passes, deploy makes new ids live, the verification expects exactly those."""
    sync(runner)
    run = runner.run_job(WORKFLOWS / "deploy.yml", "deploy", {"environment": "sandbox"})
    assert run.outcome == "success", run.log
    deployed = run.step("Deploy").outputs
    assert deployed["pages_deployment"] and deployed["worker_version"]
    assert deployed["commit"] == runner.environ["GITHUB_SHA"]
    assert f"--expect-pages-deployment {deployed['pages_deployment']}" in deployed["expect_args"]
    verified = run.step("Verify the deployed ids").outputs
    assert verified["verdict"] == "PASSED", run.log
    results = json.loads((run.artifacts / "deploy-verification-sandbox" / "results.json").read_text())
    outcome = {c["id"].split("::")[1]: c["outcome"] for c in results["checks"]}
    assert outcome["test_pages_expected_deployment[sandbox-app-web]"] == "pass"
    assert outcome["test_worker_version[sandbox-log-ingestion]"] == "pass"


def test_sharded_workflow_merges_its_matrix_into_one_runs_reports(runner: Runner, sandbox: SandboxInfo):
    """verify-sharded.yml: one job per platform of its matrix, then the merge job: the unsharded run's results."""
    import yaml

    sync(runner)
    upload_pages("app-web", REPO / "fixtures" / "example" / "web", os.environ)
    single = runner.run_action({"command": "verify", "environment": "sandbox"}, credentials(sandbox))
    assert single.outcome == "success", single.log
    unsharded = json.loads((single.artifacts / "deploycheck-verify-sandbox" / "results.json").read_text())
    workflow = WORKFLOWS / "verify-sharded.yml"
    platforms = yaml.safe_load(workflow.read_text())["jobs"]["shard"]["strategy"]["matrix"]["platform"]
    for platform in platforms:
        shard = runner.run_job(workflow, "shard", {"environment": "sandbox"}, matrix={"platform": platform})
        assert shard.outcome == "success", shard.log
    merged_run = runner.run_job(workflow, "merge", {"environment": "sandbox"})
    assert merged_run.outcome == "success", merged_run.log
    assert f"downloaded {len(platforms)} artifact(s)" in merged_run.log
    merged = json.loads((merged_run.artifacts / "verification-reports-sandbox" / "results.json").read_text())
    assert merged["verdict"] == unsharded["verdict"] and merged["counts"] == unsharded["counts"]
    assert {c["id"]: c["outcome"] for c in merged["checks"]} == {
        c["id"]: c["outcome"] for c in unsharded["checks"]
    }
    assert "## Deployment verification: sandbox" in merged_run.summary
