"""Markers: a change marker moves only on the write that produces it, and never hides drift.

A Worker's marker is its active version. When it moves through someone else's action (a
rollback, ``wrangler secret put``), the Worker's write-only secrets are untrusted: drift
fails "changed out of band (cannot tell which)", and the remedy it prints really rewrites
them. A sync that writes nothing never advances a marker.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

import pytest
import requests

from deploycheck.sandbox import SandboxInfo
from deploycheck.sandbox.admin import AdminClient

from .conftest import Workspace, expected_prod, holds, leaks

pytestmark = pytest.mark.sandbox

SYNC = ["sync-env", "--mode=deploy-prod", "--env", "sandbox", "--yes"]
DRIFT = ["drift", "--env", "sandbox", "--format", "json"]
SCRIPT = "log-ingestion"
KEY = "UPSTASH_REDIS_REST_TOKEN"


def tag(request: pytest.FixtureRequest, row: str, column: str) -> None:
    """Count this test in the "markers" table."""
    request.node.user_properties.append(("reliability-cell", f"markers|{row}|{column}"))


class Worker:
    """The sandbox Worker's API, called the way wrangler does."""

    def __init__(self, info: SandboxInfo) -> None:
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {info.cloudflare_api_token}"
        self.base = (
            f"{info.cloudflare_api_base_url}/accounts/{info.cloudflare_account_id}/workers/scripts/{SCRIPT}"
        )

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API call; its envelope's result."""
        response = self.session.request(method, self.base + path, timeout=5, **kwargs)
        assert response.status_code < 300, response.text
        return response.json()["result"]

    def roll_back_to_oldest(self) -> str:
        """``wrangler rollback <oldest version> --force``: deploy the first version; return its id."""
        items = self.call("GET", "/versions", params={"per_page": 100})["items"]
        oldest = items[-1]["id"]
        body = {"strategy": "percentage", "versions": [{"version_id": oldest, "percentage": 100}]}
        self.call("POST", "/deployments", params={"force": "true"}, json=body)
        return str(oldest)

    def secret_put(self, name: str, value: str) -> None:
        """``wrangler secret put NAME``."""
        self.call("PUT", "/secrets", json={"name": name, "text": value, "type": "secret_text"})

    def active_secret_bindings(self) -> set[str]:
        """Names of the secret bindings of the version serving traffic."""
        deployments = self.call("GET", "/deployments")["deployments"]
        version = deployments[0]["versions"][0]["version_id"]
        bindings = self.call("GET", f"/versions/{version}")["resources"]["bindings"]
        return {b["name"] for b in bindings if b["type"] == "secret_text"}


def findings(out: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Drift findings by (target, key)."""
    return {(f["target"], f["key"]): f for f in json.loads(out)["findings"]}


def run_remedy(run_cli: Any, command: str) -> Any:
    """Run a printed ``deploycheck sync-env ...`` command (plus --yes, no terminal here)."""
    argv = shlex.split(command)
    assert argv[0] == "deploycheck"
    return run_cli([*argv[1:], "--yes"])


def test_rollback_without_secrets_is_never_silenced(
    request: pytest.FixtureRequest,
    workspace: Workspace,
    sandbox: SandboxInfo,
    admin: AdminClient,
    run_cli: Any,
) -> None:
    """After a forced rollback to a version without the secret, drift fails with the key missing; the
    printed remedy either heals or fails naming the next step (never "nothing to change"), drift keeps
    failing until the secret is live again, and the remedy then heals for real."""
    tag(request, "worker-rollback-drops-secrets", "drift")
    worker = Worker(sandbox)
    assert run_cli(SYNC).code == 0
    ledger_file = next(workspace.state.glob("*.ledger.json"))
    marker = json.loads(ledger_file.read_text())["markers"]["sandbox"]["CLOUDFLARE_WORKER"]
    worker.roll_back_to_oldest()
    assert KEY not in worker.active_secret_bindings()

    drift = run_cli(DRIFT)
    assert drift.code == 1
    finding = findings(drift.out)[("CLOUDFLARE_WORKER", KEY)]
    assert finding["state"] == "missing"

    remedy = run_remedy(run_cli, finding["command"])
    # Cloudflare refuses secret edits while the latest version is not deployed (10215)
    assert remedy.code == 1
    assert "nothing to change" not in remedy.text
    assert "wrangler versions deploy" in remedy.text
    assert json.loads(ledger_file.read_text())["markers"]["sandbox"]["CLOUDFLARE_WORKER"] == marker
    assert run_cli(DRIFT).code == 1

    # the person deploys the version to keep (the latest, which still has the secret)
    latest = worker.call("GET", "/versions", params={"per_page": 100})["items"][0]["id"]
    body = {"strategy": "percentage", "versions": [{"version_id": latest, "percentage": 100}]}
    worker.call("POST", "/deployments", params={"force": "true"}, json=body)
    drift = run_cli(DRIFT)
    assert drift.code == 1
    finding = findings(drift.out)[("CLOUDFLARE_WORKER", KEY)]
    assert finding["state"] == "changed_out_of_band"
    admin.clear_requests()
    healed = run_remedy(run_cli, finding["command"])
    assert healed.code == 0, healed.text
    assert admin.writes("cloudflare"), "the remedy wrote nothing"
    assert KEY in worker.active_secret_bindings()
    assert run_cli(DRIFT).code == 0
    assert (
        holds(admin.state(), workspace.sot)["CLOUDFLARE_WORKER"]
        == expected_prod(workspace.sot)["CLOUDFLARE_WORKER"]
    )


def test_out_of_band_secret_put_fails_drift_and_the_remedy_restores_the_value(
    request: pytest.FixtureRequest,
    workspace: Workspace,
    sandbox: SandboxInfo,
    admin: AdminClient,
    run_cli: Any,
) -> None:
    """``wrangler secret put`` of a foreign value makes drift fail "cannot tell which"; the printed
    remedy rewrites the SoT value, after which drift passes and the platform holds the SoT's value."""
    tag(request, "worker-secret-put-out-of-band", "drift")
    worker = Worker(sandbox)
    assert run_cli(SYNC).code == 0
    assert run_cli(DRIFT).code == 0
    worker.secret_put(KEY, "foreign-value-from-someone-else")

    drift = run_cli(DRIFT)
    assert drift.code == 1
    finding = findings(drift.out)[("CLOUDFLARE_WORKER", KEY)]
    assert finding["state"] == "changed_out_of_band"
    assert "cannot tell which" in finding["detail"]

    healed = run_remedy(run_cli, finding["command"])
    assert healed.code == 0, healed.text
    assert (
        holds(admin.state(), workspace.sot)["CLOUDFLARE_WORKER"][KEY]
        == expected_prod(workspace.sot)["CLOUDFLARE_WORKER"][KEY]
    )
    assert run_cli(DRIFT).code == 0
    assert leaks(drift.text + healed.text, workspace.secrets()) == []


def test_no_op_sync_never_advances_the_marker(
    request: pytest.FixtureRequest, workspace: Workspace, sandbox: SandboxInfo, run_cli: Any
) -> None:
    """A sync after an out-of-band change but narrowed to a plain key leaves the secret untrusted:
    the marker moved through someone else's action, so drift still fails for the secret."""
    tag(request, "no-op-sync-keeps-marker", "sync-env")
    worker = Worker(sandbox)
    assert run_cli(SYNC).code == 0
    worker.secret_put(KEY, "foreign-value-from-someone-else")
    narrowed = run_cli([*SYNC, "--target", "CLOUDFLARE_WORKER", "--only", "LOG_LEVEL"])
    assert narrowed.code == 0
    ledger = json.loads(next(workspace.state.glob("*.ledger.json")).read_text())
    before = ledger["markers"]["sandbox"]["CLOUDFLARE_WORKER"]
    assert run_cli([*SYNC, "--target", "CLOUDFLARE_WORKER", "--only", "LOG_LEVEL"]).code == 0
    ledger = json.loads(next(workspace.state.glob("*.ledger.json")).read_text())
    assert ledger["markers"]["sandbox"]["CLOUDFLARE_WORKER"] == before
    drift = run_cli(DRIFT)
    assert drift.code == 1
    assert findings(drift.out)[("CLOUDFLARE_WORKER", KEY)]["state"] == "changed_out_of_band"


def test_narrowed_remedy_after_out_of_band_change_keeps_other_secrets_untrusted(
    request: pytest.FixtureRequest, workspace: Workspace, sandbox: SandboxInfo, run_cli: Any
) -> None:
    """Rewriting one plain key of a Worker that changed out of band moves the marker (a real write),
    yet the secret not rewritten stays untrusted until a sync rewrites it."""
    tag(request, "narrowed-sync-keeps-secrets-untrusted", "sync-env")
    worker = Worker(sandbox)
    assert run_cli(SYNC).code == 0
    worker.secret_put(KEY, "foreign-value-from-someone-else")
    workspace.sot.write_text(workspace.sot.read_text("utf-8").replace("| info ", "| warn "), "utf-8")
    assert run_cli([*SYNC, "--target", "CLOUDFLARE_WORKER", "--only", "LOG_LEVEL"]).code == 0
    drift = run_cli(DRIFT)
    assert drift.code == 1
    assert findings(drift.out)[("CLOUDFLARE_WORKER", KEY)]["state"] == "changed_out_of_band"
    assert run_cli([*SYNC, "--target", "CLOUDFLARE_WORKER"]).code == 0
    assert run_cli(DRIFT).code == 0
