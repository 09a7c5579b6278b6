"""Acknowledged but not applied: a write counts only when the platform shows it.

The sandbox answers one write with the vendor's success shape and applies nothing (the
admin fault ``ack``). A secret rotation that the platform never applied must not be
reported done: ``sync-env`` exits non-zero naming the key, the ledger keeps the old
fingerprint, ``drift`` keeps failing, and a re-run once the fault is gone converges.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from deploycheck.sandbox import SandboxInfo
from deploycheck.sandbox.admin import AdminClient

from .conftest import Workspace, canary, expected_prod, holds, leaks, ledger_truth

pytestmark = pytest.mark.sandbox

#: case -> (fault path regex, method, target, secret key rotated)
CASES: dict[str, tuple[str, str, str, str]] = {
    "worker-secrets-bulk": (
        r"/workers/scripts/[^/]+/secrets-bulk$",
        "PATCH",
        "CLOUDFLARE_WORKER",
        "UPSTASH_REDIS_REST_TOKEN",
    ),
    "pages-project-patch": (r"/pages/projects/[^/]+$", "PATCH", "NEXTJS", "CLERK_SECRET_KEY"),
    "convex-env-update": (r"/api/v1/update_environment_variables$", "POST", "CONVEX", "OPENAI_API_KEY"),
    "github-secret-put": (r"/secrets/SLACK_WEBHOOK_URL$", "PUT", "GITHUB", "SLACK_WEBHOOK_URL"),
}
SERVICE = {"CLOUDFLARE_WORKER": "cloudflare", "NEXTJS": "cloudflare", "GITHUB": "github", "CONVEX": "convex"}
SYNC = ["sync-env", "--mode=deploy-prod", "--env", "sandbox", "--yes"]


def tag(request: pytest.FixtureRequest, row: str, column: str) -> None:
    """Count this test in the "acknowledged-but-not-applied" table."""
    request.node.user_properties.append(("reliability-cell", f"acknowledged-but-not-applied|{row}|{column}"))


def rotate(ws: Workspace, key: str) -> str:
    """Give ``key`` a new PROD canary in the table; return it."""
    old = ws.canaries[key]
    fresh = canary()
    ws.sot.write_text(ws.sot.read_text("utf-8").replace(old, fresh), "utf-8")
    ws.canaries[key] = fresh
    return fresh


def _outcome(out: str, target: str) -> dict[str, Any]:
    data = json.loads(out)
    return next(t for t in data["targets"] if t["target"] == target)


@pytest.mark.parametrize("case", sorted(CASES))
def test_acknowledged_write_is_not_counted(
    case: str, request: pytest.FixtureRequest, workspace: Workspace, admin: AdminClient, run_cli: Any
) -> None:
    """A success answer that applied nothing makes sync-env exit 1 with the key not confirmed, the
    ledger keeps the old fingerprint, drift fails, and a re-run after the fault converges."""
    tag(request, case, "sync-env")
    path, method, target, key = CASES[case]
    runs: list[Any] = []

    def run_cli_kept(argv: list[str]) -> Any:
        runs.append(done := run_cli(argv))
        return done

    assert run_cli_kept(SYNC).code == 0
    before = admin.state()
    rotate(workspace, key)
    admin.fault(service=SERVICE[target], path=path, method=method, ack=True)

    lost = run_cli_kept([*SYNC, "--format", "json"])
    assert lost.code == 1, lost.text
    outcome = _outcome(lost.out, target)
    assert outcome["readback"] != "confirmed"
    assert key in outcome["not_applied"]
    after = admin.state()
    assert holds(after, workspace.sot)[target][key] == holds(before, workspace.sot)[target][key]
    assert ledger_truth(workspace, after) == []

    drift = run_cli_kept(["drift", "--env", "sandbox", "--format", "json"])
    assert drift.code == 1
    states = {(f["target"], f["key"]): f["state"] for f in json.loads(drift.out)["findings"]}
    assert states[(target, key)] == "pending"

    admin.clear_faults()
    assert run_cli_kept(SYNC).code == 0
    assert holds(admin.state(), workspace.sot) == expected_prod(workspace.sot)
    assert run_cli_kept(["drift", "--env", "sandbox"]).code == 0
    for run in runs:
        assert leaks(run.text, workspace.secrets()) == []


def test_ack_fault_answers_the_vendor_success_shape(admin: AdminClient, sandbox: SandboxInfo) -> None:
    """The admin fault ``ack`` answers Cloudflare's success envelope with a null result and changes nothing."""
    admin.fault(service="cloudflare", path=r"/secrets-bulk$", ack=True)
    before = admin.state()["cloudflare"]["workers"]
    base, account, token = (
        sandbox.cloudflare_api_base_url,
        sandbox.cloudflare_account_id,
        sandbox.cloudflare_api_token,
    )
    response = requests.patch(
        f"{base}/accounts/{account}/workers/scripts/log-ingestion/secrets-bulk",
        data=json.dumps({"secrets": {"X": {"name": "X", "text": "y", "type": "secret_text"}}}),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/merge-patch+json"},
        timeout=5,
    )
    assert response.status_code == 200
    assert response.json() == {"success": True, "errors": [], "messages": [], "result": None}
    assert admin.state()["cloudflare"]["workers"] == before
