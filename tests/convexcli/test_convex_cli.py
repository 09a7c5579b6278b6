"""The real Convex CLI, unchanged, against the sandbox: env, function-spec and deploy."""

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

from .conftest import REPO, TIMEOUT_S, CliRun, cli_environ

pytestmark = pytest.mark.sandbox

Cli = Callable[..., CliRun]
DEPLOY = ("deploy", "--typecheck=disable", "--yes")
EXAMPLE_FUNCTIONS = ["logs.js:ingest", "messages.js:list", "messages.js:send"]


def convex_state(admin: AdminClient) -> dict:
    """The emulated deployment's state."""
    return admin.state()["convex"]["deployments"]["prod-graceful-shrimp-355"]


def identifiers(functions: list[dict]) -> list[str]:
    """The function identifiers of a function spec."""
    return sorted(f["identifier"] for f in functions if "identifier" in f)


def test_env_set_list_get_remove(convex_cli: Cli, sandbox_admin: AdminClient) -> None:
    """env set/list/get/remove work over HTTP and the sync protocol; the emulator stores the changes."""
    set_run = convex_cli("env", "set", "FEATURE_FLAG", "on")
    assert set_run.returncode == 0, set_run.output
    assert convex_state(sandbox_admin)["environment_variables"] == {"FEATURE_FLAG": "on"}
    listed = convex_cli("env", "list")
    assert listed.returncode == 0, listed.output
    assert listed.stdout.splitlines() == ["FEATURE_FLAG=on"]
    got = convex_cli("env", "get", "FEATURE_FLAG")
    assert (got.returncode, got.stdout.strip()) == (0, "on"), got.output
    missing = convex_cli("env", "get", "NOT_SET")
    # the CLI reports a missing variable on stderr and still exits 0
    assert 'Environment variable "NOT_SET" not found' in missing.stderr, missing.output
    removed = convex_cli("env", "remove", "FEATURE_FLAG")
    assert removed.returncode == 0, removed.output
    assert convex_state(sandbox_admin)["environment_variables"] == {}
    assert convex_cli("env", "list").stdout.strip() == ""
    sync_paths = {e["path"] for e in sandbox_admin.requests("convex") if e["path"].endswith("/sync")}
    assert len(sync_paths) == 1 and next(iter(sync_paths)).startswith("/api/1.")


def test_function_spec_of_the_seeded_deployment(convex_cli: Cli, sandbox: SandboxInfo) -> None:
    """function-spec prints the deployment URL and the seeded functions."""
    run = convex_cli("function-spec")
    assert run.returncode == 0, run.output
    spec = json.loads(run.stdout)
    assert spec["url"] == sandbox.convex_url
    assert identifiers(spec["functions"]) == ["logs.js:ingest", "messages.js:list", "messages.js:send"]


def test_deploy_the_example_app(convex_cli: Cli, app: Path, sandbox_admin: AdminClient) -> None:
    """deploy pushes the bundles; the spec is the code's own (argument validators) and codegen ran."""
    run = convex_cli(*DEPLOY)
    assert run.returncode == 0, run.output
    assert "Deployed Convex functions to" in run.stdout + run.stderr
    state = convex_state(sandbox_admin)
    assert identifiers(state["functions"]) == EXAMPLE_FUNCTIONS
    send = next(f for f in state["functions"] if f.get("identifier") == "messages.js:send")
    assert send["args"]["value"]["author"] == {"fieldType": {"type": "string"}, "optional": False}
    tables = {t["tableName"]: t for t in state["schema"]["tables"]}
    assert [i["indexDescriptor"] for i in tables["logs"]["indexes"]] == ["by_at", "by_level_and_at"]
    assert (app / "convex" / "_generated" / "api.d.ts").is_file()
    paths = [
        e["path"] for e in sandbox_admin.writes("convex") if "/deploy2/" in e["path"] and e["status"] == 200
    ]
    # report_push_completed is sent without waiting for it, so it may come after the CLI exits;
    # evaluate_schema (best effort, 404 here) is skipped by the CLI
    assert paths[:4] == [
        "/api/deploy2/evaluate_push",
        "/api/deploy2/start_push",
        "/api/deploy2/wait_for_schema",
        "/api/deploy2/finish_push",
    ]
    spec = json.loads(convex_cli("function-spec").stdout)
    assert identifiers(spec["functions"]) == EXAMPLE_FUNCTIONS


def test_deploy_a_change_that_adds_a_function(convex_cli: Cli, app: Path, sandbox_admin: AdminClient) -> None:
    """A second deploy with a new query adds it to the spec; unchanged modules are not re-sent."""
    assert convex_cli(*DEPLOY).returncode == 0
    with (app / "convex" / "messages.ts").open("a", encoding="utf-8") as source:
        source.write(
            "\n/** How many messages there are. */\n"
            "export const count = query({\n"
            "  args: {},\n"
            '  handler: async (ctx) => (await ctx.db.query("messages").collect()).length,\n'
            "});\n"
        )
    run = convex_cli(*DEPLOY)
    assert run.returncode == 0, run.output
    state = convex_state(sandbox_admin)
    assert identifiers(state["functions"]) == ["logs.js:ingest", "messages.js:count", *EXAMPLE_FUNCTIONS[1:]]
    assert len(state["pushes"]) == 3  # the seed, then two deploys
    spec = json.loads(convex_cli("function-spec").stdout)
    count = next(f for f in spec["functions"] if f.get("identifier") == "messages.js:count")
    assert count["functionType"] == "Query" and count["visibility"] == {"kind": "public"}


def test_schema_change_that_existing_data_breaks_is_refused(
    convex_cli: Cli, app: Path, sandbox_admin: AdminClient
) -> None:
    """A required field the stored documents lack fails schema validation with the backend's message."""
    assert convex_cli(*DEPLOY).returncode == 0
    (document_id,) = sandbox_admin.seed_convex_documents("messages", [{"author": "ann", "body": "hello"}])
    before = convex_state(sandbox_admin)
    schema = app / "convex" / "schema.ts"
    schema.write_text(
        schema.read_text(encoding="utf-8").replace(
            "  body: v.string(),", "  body: v.string(),\n  channel: v.string(),"
        ),
        encoding="utf-8",
    )
    run = convex_cli(*DEPLOY)
    assert run.returncode == 1, run.output
    assert "Schema validation failed." in run.stderr, run.output
    assert (
        f'Document with ID "{document_id}" in table "messages" does not match the schema: '
        "Object is missing the required field `channel`."
    ) in run.stderr, run.output
    assert (
        'Validator: v.object({_creationTime: v.float64(), _id: v.id("messages"), author: v.string()'
        in run.stderr
    )
    after = convex_state(sandbox_admin)
    assert after["pushes"] == before["pushes"] and after["schema"] == before["schema"]
    # the same field as optional is accepted
    schema.write_text(
        schema.read_text(encoding="utf-8").replace("channel: v.string()", "channel: v.optional(v.string())"),
        encoding="utf-8",
    )
    assert convex_cli(*DEPLOY).returncode == 0


def test_the_cli_rides_out_a_dropped_sync_connection(convex_cli: Cli, sandbox_admin: AdminClient) -> None:
    """One dropped WebSocket and one refused upgrade: the CLI reconnects and env list still answers."""
    assert convex_cli("env", "set", "A", "1").returncode == 0
    sandbox_admin.fault(service="convex", path="/sync$", drop=True, count=1)
    sandbox_admin.fault(service="convex", path="/sync$", status=503, count=1)
    run = convex_cli("env", "list")
    assert run.returncode == 0 and run.stdout.splitlines()[-1] == "A=1", run.output
    assert "Unexpected server response: 503" in run.stdout and "WebSocket reconnected" in run.stdout
    statuses = [e["status"] for e in sandbox_admin.requests("convex") if e["path"].endswith("/sync")]
    assert statuses[-3:] == [101, 503, 101] or statuses[-3:] == [503, 101, 101]


def test_deploycheck_deploy_env_sandbox_runs_npx_convex_deploy(
    sandbox: SandboxInfo, sandbox_admin: AdminClient, tmp_path: Path
) -> None:
    """`deploycheck deploy --env sandbox` deploys Convex with the CLI and its verification passes."""
    if os.environ.get("DEPLOYCHECK_CONVEX_MODULES"):
        pytest.skip("deploycheck.yaml deploys with the pinned CLI of fixtures/example")
    environ = {**cli_environ(sandbox), "DEPLOYCHECK_HTTP_TIMEOUT": "5"}
    state = tmp_path / "state"

    def deploycheck(*args: str) -> subprocess.CompletedProcess[str]:
        code = "import sys; from deploycheck.cli import main; sys.exit(main())"
        return subprocess.run(
            [sys.executable, "-c", code, *args],
            cwd=REPO,
            env=environ,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S * 2,
            check=False,
        )

    synced = deploycheck(
        "sync-env", "--mode=deploy-prod", "--env", "sandbox", "--yes", "--state-dir", str(state)
    )
    assert synced.returncode == 0, synced.stdout + synced.stderr
    done = deploycheck(
        "deploy", "--env", "sandbox", "--yes", "--state-dir", str(state), "--report-dir", str(tmp_path / "r")
    )
    assert done.returncode == 0, done.stdout + done.stderr
    writes = [e["path"] for e in sandbox_admin.writes("convex")]
    assert "/api/deploy2/finish_push" in writes and "/api/push_config" not in writes
    deployment = convex_state(sandbox_admin)
    assert identifiers(deployment["functions"]) == EXAMPLE_FUNCTIONS
    assert "messages.js" in deployment["pushes"][-1]["modules"]
    assert any(e["path"].endswith("/sync") for e in sandbox_admin.requests("convex"))
