"""The official ``cloudflare`` Python SDK against the sandbox, in default and strict response validation.

Strict mode (``_strict_response_validation=True``) validates every answer against the
SDK's models, generated from Cloudflare's OpenAPI document, so a missing field or a wrong
type fails the call. Two operations are left out because the SDK itself cannot run them
whatever the answer (cloudflare 5.9.0): ``workers.scripts.versions.get`` (its
``ResourcesBindings`` is not a model, pydantic cannot build a schema) and
``workers.scripts.deployments.list`` (typed as a page of ``{items}`` while the API and
wrangler use ``{deployments}``); deploycheck's own adapter and wrangler cover both reads.
"""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from deploycheck.cli import main
from deploycheck.redact import fingerprint, register_secret
from deploycheck.sandbox import SandboxInfo
from deploycheck.sandbox.admin import AdminClient

pytestmark = pytest.mark.sandbox

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "deploycheck.yaml"
SCRIPT, PROJECT = "log-ingestion", "app-web"


@pytest.fixture(params=[False, True], ids=["default", "strict"])
def cf(request: pytest.FixtureRequest, sandbox: SandboxInfo, cloudflare_sdk: Any) -> Any:
    """A Cloudflare SDK client of the sandbox, in default or strict response validation."""
    client = cloudflare_sdk.Cloudflare(
        api_token=sandbox.cloudflare_api_token,
        base_url=sandbox.cloudflare_api_base_url,
        max_retries=0,
        _strict_response_validation=request.param,
    )
    yield client
    client.close()


def test_worker_reads_and_secret_writes(cf: Any, sandbox: SandboxInfo, sandbox_admin: AdminClient) -> None:
    """Scripts, content, settings, secrets (put, list, get, delete), versions and a deployment read."""
    account = sandbox.cloudflare_account_id
    scripts = cf.workers.scripts
    assert SCRIPT in [s.id for s in scripts.list(account_id=account)]
    content = scripts.content.get(SCRIPT, account_id=account)
    assert b"EXPECTED_STATE_VERSION" in content.read()
    settings = scripts.script_and_version_settings.get(SCRIPT, account_id=account)
    assert "RATE_LIMITER" in [b.name for b in settings.bindings]
    assert scripts.settings.get(SCRIPT, account_id=account).logpush is False
    value = secrets.token_urlsafe(20)
    register_secret(value)
    scripts.secrets.update(SCRIPT, account_id=account, name="SDK_TOKEN", text=value, type="secret_text")
    assert "SDK_TOKEN" in [s.name for s in scripts.secrets.list(SCRIPT, account_id=account)]
    assert scripts.secrets.get("SDK_TOKEN", account_id=account, script_name=SCRIPT).name == "SDK_TOKEN"
    stored = sandbox_admin.state()["cloudflare"]["workers"][SCRIPT]["secrets"]
    assert fingerprint(stored["SDK_TOKEN"]) == fingerprint(value)
    scripts.secrets.delete("SDK_TOKEN", account_id=account, script_name=SCRIPT)
    assert "SDK_TOKEN" not in [s.name for s in scripts.secrets.list(SCRIPT, account_id=account)]
    versions = list(scripts.versions.list(SCRIPT, account_id=account))
    assert len(versions) >= 5 and versions[0].number > versions[-1].number
    active = sandbox_admin.state()["cloudflare"]["workers"][SCRIPT]["deployments"][-1]
    deployment = scripts.deployments.get(active["id"], account_id=account, script_name=SCRIPT)
    assert deployment.versions[0].version_id == versions[0].id
    assert scripts.subdomain.get(SCRIPT, account_id=account).enabled is True
    assert cf.workers.subdomains.get(account_id=account).subdomain == "example"


def test_a_split_deployment_through_the_sdk(cf: Any, sandbox: SandboxInfo) -> None:
    """deployments.create with two versions at 30/70 is what the next deployment read returns."""
    account = sandbox.cloudflare_account_id
    newest, older = [v.id for v in cf.workers.scripts.versions.list(SCRIPT, account_id=account)][:2]
    created = cf.workers.scripts.deployments.create(
        SCRIPT,
        account_id=account,
        strategy="percentage",
        versions=[{"version_id": older, "percentage": 30}, {"version_id": newest, "percentage": 70}],
    )
    read = cf.workers.scripts.deployments.get(created.id, account_id=account, script_name=SCRIPT)
    assert [(v.version_id, v.percentage) for v in read.versions] == [(older, 30), (newest, 70)]


def test_pages_reads_writes_and_asset_upload(cf: Any, sandbox: SandboxInfo) -> None:
    """Projects, deployments (list, get, retry, rollback, logs), domains, env var edit and the asset calls."""
    account = sandbox.cloudflare_account_id
    projects = cf.pages.projects
    assert [p.name for p in projects.list(account_id=account)] == [PROJECT]
    project = projects.get(PROJECT, account_id=account)
    assert project.framework and project.production_script_name
    assert project.deployment_configs.production.build_image_major_version >= 1
    deployments = list(projects.deployments.list(PROJECT, account_id=account))
    assert len(deployments) == 5
    one = projects.deployments.get(deployments[0].id, account_id=account, project_name=PROJECT)
    assert one.short_id == deployments[0].id[:8]
    retried = projects.deployments.retry(deployments[0].id, account_id=account, project_name=PROJECT)
    assert retried.id != deployments[0].id and retried.deployment_trigger.metadata.branch == "main"
    earlier = next(
        d for d in deployments[1:] if d.environment == "production" and d.latest_stage.status == "success"
    )
    rolled = projects.deployments.rollback(earlier.id, account_id=account, project_name=PROJECT)
    assert projects.get(PROJECT, account_id=account).canonical_deployment.id == rolled.id == earlier.id
    logs = projects.deployments.history.logs.get(earlier.id, account_id=account, project_name=PROJECT)
    assert logs.total == len(logs.data) > 0
    assert [d.name for d in projects.domains.list(PROJECT, account_id=account)] == ["app.example.com"]
    assert (
        projects.domains.get("app.example.com", account_id=account, project_name=PROJECT).status == "active"
    )
    edited = projects.edit(
        PROJECT,
        account_id=account,
        deployment_configs={"preview": {"env_vars": {"SDK_FLAG": {"type": "plain_text", "value": "on"}}}},
    )
    assert edited.deployment_configs.preview.env_vars["SDK_FLAG"].value == "on"

    jwt = projects.get_upload_token(PROJECT, account_id=account).jwt
    as_uploader = {"Authorization": f"Bearer {jwt}"}
    digest = secrets.token_hex(16)
    assert list(cf.pages.assets.check_missing(hashes=[digest], extra_headers=as_uploader)) == [digest]
    body = [{"key": digest, "value": base64.b64encode(b"hello").decode(), "metadata": {"contentType": "text/plain"},
             "base64": True}]  # fmt: skip
    cf.pages.assets.upload(body=body, extra_headers=as_uploader)
    cf.pages.assets.upsert_hashes(hashes=[digest], extra_headers=as_uploader)
    assert list(cf.pages.assets.check_missing(hashes=[digest], extra_headers=as_uploader)) == []


def test_out_of_band_changes_made_with_the_sdk_are_reported_by_drift(
    cf: Any, synced: Path, sandbox: SandboxInfo, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Worker secret deleted and a Pages var changed through the SDK are each reported by drift;
    the Worker's moved version is named in a note (an overwritten secret value is not readable)."""
    account = sandbox.cloudflare_account_id
    cf.workers.scripts.secrets.delete("UPSTASH_REDIS_REST_TOKEN", account_id=account, script_name=SCRIPT)
    cf.pages.projects.edit(
        PROJECT,
        account_id=account,
        deployment_configs={
            "production": {
                "env_vars": {"NEXT_PUBLIC_APP_URL": {"type": "plain_text", "value": "https://other.dev"}}
            }
        },
    )
    capsys.readouterr()
    code = main(["drift", "--env", "sandbox", "--config", str(CONFIG), "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    found = {(f["target"], f["key"], f["state"]) for f in data["findings"]}
    assert found == {
        ("CLOUDFLARE_WORKER", "UPSTASH_REDIS_REST_TOKEN", "missing"),
        ("NEXTJS", "NEXT_PUBLIC_APP_URL", "value_differs"),
    }
    assert code == 1
    assert [n["target"] for n in data["notes"]] == ["CLOUDFLARE_WORKER"]
    assert "changed since the last sync" in data["notes"][0]["message"]
