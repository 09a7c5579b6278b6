"""The Cloudflare Worker adapter against recorded Workers API payloads."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import responses

from deploycheck.errors import AuthError, ConfigError, MalformedResponse, NotFoundError, PlatformError
from deploycheck.platforms.base import ConfigPlatform, DeploymentPlatform, VarChange
from deploycheck.platforms.cloudflare import CloudflareWorkerPlatform

from .conftest import CF, FakeTime, cf_error, cf_ok

W = f"{CF}/workers/scripts/log-ingestion"
V1 = "18f97339-c287-4872-9bdd-e2135c07ec12"
V3 = "3b2e0d5f-6c7a-4b8c-9dae-1f2a3b4c5d6e"
Recorded = Callable[[str], responses.RequestsMock]


@pytest.fixture
def worker(cf_environ: dict[str, str], fake_time: FakeTime) -> CloudflareWorkerPlatform:
    """The adapter of script log-ingestion in the recorded account."""
    adapter = CloudflareWorkerPlatform.from_environ(
        script="log-ingestion", environ=cf_environ, target="CLOUDFLARE_WORKER", env="production"
    )
    fake_time.install(adapter.api.client)
    return adapter


def test_meets_both_protocols(worker: CloudflareWorkerPlatform) -> None:
    """The Worker adapter is a ConfigPlatform and a DeploymentPlatform."""
    assert isinstance(worker, ConfigPlatform)
    assert isinstance(worker, DeploymentPlatform)


def test_read_config(worker: CloudflareWorkerPlatform, recorded: Recorded) -> None:
    """Secrets are the active version's secret bindings, plain and JSON vars come with values, the
    marker is the active version."""
    rsps = recorded("cloudflare_worker")
    state = worker.read_config()
    assert state.marker == V3
    assert state.requests == 3 == worker.requests
    assert state.vars["UPSTASH_REDIS_REST_URL"].value == "https://eu1-example.upstash.io"
    assert state.vars["LIMITS"].value == '{"per_minute":60}'
    assert state.vars["SIGNING_KEY"].secret and state.vars["SIGNING_KEY"].value is None
    assert "RATE_LIMITER" not in state.vars
    assert rsps.calls[0].request.headers["Authorization"] == "Bearer cf-token-unit-test-0123456789"


def test_read_cost_does_not_grow_with_keys(
    worker: CloudflareWorkerPlatform, mocked: responses.RequestsMock
) -> None:
    """Reading 500 secrets costs the same three requests as reading 2."""
    mocked.get(f"{W}/secrets", json=cf_ok([{"name": f"S{i}", "type": "secret_text"} for i in range(500)]))
    mocked.get(f"{W}/settings", json=cf_ok({"bindings": []}))
    mocked.get(f"{W}/deployments", json=cf_ok({"deployments": []}))
    state = worker.read_config()
    assert len(state.vars) == 500
    assert state.requests == 3
    assert state.marker is None


def test_secrets_go_in_one_bulk_merge_patch(worker: CloudflareWorkerPlatform, recorded: Recorded) -> None:
    """Secret changes are one PATCH secrets-bulk with merge-patch; removals are null."""
    rsps = recorded("cloudflare_worker")
    result = worker.apply_config(
        [
            VarChange("SIGNING_KEY", "change", "new-signing-value", secret=True),
            VarChange("OLD_TOKEN", "remove", None, secret=True),
        ]
    )
    assert result.ok and result.applied == ("SIGNING_KEY", "OLD_TOKEN")
    assert result.marker == V3
    writes = [c for c in rsps.calls if c.request.method != "GET"]
    assert len(writes) == 1
    request = writes[0].request
    assert request.url == f"{W}/secrets-bulk"
    assert request.headers["Content-Type"] == "application/merge-patch+json"
    body = json.loads(request.body)
    assert body["secrets"]["OLD_TOKEN"] is None
    assert body["secrets"]["SIGNING_KEY"]["type"] == "secret_text"
    assert set(body["secrets"]) == {"SIGNING_KEY", "OLD_TOKEN"}


def test_plain_vars_merge_settings_bindings(worker: CloudflareWorkerPlatform, recorded: Recorded) -> None:
    """Plain changes PATCH the settings as multipart, keeping secrets and other bindings."""
    rsps = recorded("cloudflare_worker")
    worker.apply_config(
        [
            VarChange("UPSTASH_REDIS_REST_URL", "change", "https://new.upstash.io", secret=False),
            VarChange("LIMITS", "remove", None, secret=False),
            VarChange("LOG_LEVEL", "add", "info", secret=False),
        ]
    )
    patch = next(c.request for c in rsps.calls if c.request.method == "PATCH")
    assert patch.url == f"{W}/settings"
    assert patch.headers["Content-Type"].startswith("multipart/form-data")
    raw = patch.body if isinstance(patch.body, bytes) else patch.body.encode()
    part = raw.split(b'name="settings"', 1)[1].split(b"\r\n\r\n", 1)[1].rsplit(b"\r\n--", 1)[0]
    bindings = {b["name"]: b for b in json.loads(part)["bindings"]}
    assert bindings["UPSTASH_REDIS_REST_URL"] == {
        "type": "plain_text",
        "name": "UPSTASH_REDIS_REST_URL",
        "text": "https://new.upstash.io",
    }
    assert bindings["LOG_LEVEL"]["text"] == "info"
    assert "LIMITS" not in bindings
    assert bindings["SIGNING_KEY"] == {"type": "secret_text", "name": "SIGNING_KEY"}
    assert bindings["RATE_LIMITER"]["type"] == "durable_object_namespace"


def test_list_versions_follows_pages(worker: CloudflareWorkerPlatform, recorded: Recorded) -> None:
    """Versions are read page by page until total_count is reached."""
    recorded("cloudflare_worker")
    versions = worker.list_versions(per_page=2)
    assert [v.number for v in versions] == [3, 2, 1]
    assert versions[1].message == "second"
    assert worker.requests == 2


def test_get_version_has_bindings(worker: CloudflareWorkerPlatform, recorded: Recorded) -> None:
    """One version comes with its bindings."""
    recorded("cloudflare_worker")
    version = worker.get_version(V1)
    assert version.id == V1 and version.message == "first"
    assert {b["name"] for b in version.bindings} == {"UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN"}


def test_list_deployments_newest_first(worker: CloudflareWorkerPlatform, recorded: Recorded) -> None:
    """Deployments are newest first and the serving one is active."""
    recorded("cloudflare_worker")
    deployments = worker.list_deployments()
    assert [d.active for d in deployments] == [True, False]
    assert deployments[0].single_version == V3
    assert deployments[1].message == "first"
    assert worker.active_version() == V3


def test_roll_back_deploys_version_at_100(worker: CloudflareWorkerPlatform, recorded: Recorded) -> None:
    """Rollback POSTs a percentage deployment of the version at 100% with the message."""
    rsps = recorded("cloudflare_worker")
    deployment = worker.roll_back(V1, message="Roll back after bad deploy")
    assert deployment.single_version == V1
    post = next(c.request for c in rsps.calls if c.request.method == "POST")
    assert json.loads(post.body) == {
        "strategy": "percentage",
        "versions": [{"version_id": V1, "percentage": 100.0}],
        "annotations": {"workers/message": "Roll back after bad deploy"},
    }
    assert "force" not in post.url


def test_roll_back_to_deployment_id_uses_its_version(
    worker: CloudflareWorkerPlatform, recorded: Recorded
) -> None:
    """A deployment id is resolved to the version it served."""
    rsps = recorded("cloudflare_worker")
    worker.roll_back("0b8a3c2e-1111-4a4a-9b9b-0c0c0c0c0c01")
    post = next(c.request for c in rsps.calls if c.request.method == "POST")
    assert json.loads(post.body)["versions"] == [{"version_id": V1, "percentage": 100.0}]


def test_secrets_changed_surfaces_code_10220(
    worker: CloudflareWorkerPlatform, mocked: responses.RequestsMock
) -> None:
    """Error 10220 is a PlatformError with the code and the secret names; force adds ?force=true."""
    mocked.get(f"{W}/deployments", json=cf_ok({"deployments": []}))
    mocked.post(
        f"{W}/deployments",
        status=400,
        json=cf_error(10220, "The following secrets have changed: SIGNING_KEY, UPSTASH_REDIS_REST_TOKEN"),
    )
    with pytest.raises(PlatformError) as info:
        worker.roll_back(V1)
    assert info.value.code == 10220
    assert "SIGNING_KEY, UPSTASH_REDIS_REST_TOKEN" in str(info.value)
    assert "--force" in info.value.hint
    assert len([c for c in mocked.calls if c.request.method == "POST"]) == 1
    mocked.post(f"{W}/deployments?force=true", json=cf_ok({"id": "d9", "created_on": "x", "versions": []}))
    worker.roll_back(V1, force=True)
    assert mocked.calls[-1].request.url.endswith("?force=true")


def test_deployment_post_not_retried_on_500(
    worker: CloudflareWorkerPlatform, mocked: responses.RequestsMock
) -> None:
    """Creating a deployment is not repeated after a 5xx."""
    mocked.post(f"{W}/deployments", status=500, json=cf_error(10013, "internal"))
    with pytest.raises(PlatformError, match="not retried"):
        worker.create_deployment({V1: 100})
    assert len(mocked.calls) == 1


def test_bulk_secrets_retried_on_429(
    worker: CloudflareWorkerPlatform, mocked: responses.RequestsMock, fake_time: FakeTime
) -> None:
    """The bulk secrets PATCH is idempotent in effect and is retried after a 429's Retry-After."""
    mocked.patch(f"{W}/secrets-bulk", status=429, headers={"Retry-After": "1"}, json=cf_error(971, "rate"))
    mocked.patch(f"{W}/secrets-bulk", status=500, json=cf_error(10013, "internal"))
    mocked.patch(f"{W}/secrets-bulk", json=cf_ok({"A": {"name": "A", "type": "secret_text"}}))
    worker.put_secrets({"A": "value-a"})
    assert fake_time.sleeps[0] == 1.0
    assert len(mocked.calls) == 3


def test_success_false_on_200_is_an_error(
    worker: CloudflareWorkerPlatform, mocked: responses.RequestsMock
) -> None:
    """success:false is an error even with HTTP 200."""
    mocked.get(f"{W}/secrets", json=cf_error(10013, "something failed"))
    with pytest.raises(PlatformError, match=r"something failed \[10013\]") as info:
        worker.list_secrets()
    assert info.value.code == 10013


def test_403_names_the_missing_permission(
    worker: CloudflareWorkerPlatform, mocked: responses.RequestsMock
) -> None:
    """A 403 on a secret write says the token lacks Workers Scripts:Edit."""
    mocked.put(f"{W}/secrets", status=403, json=cf_error(10000, "Authentication error"))
    with pytest.raises(AuthError) as info:
        worker.put_secret("SIGNING_KEY", "very-secret-value-xyz")
    assert "Workers Scripts:Edit" in info.value.hint or "CLOUDFLARE_API_TOKEN" in info.value.hint
    assert "very-secret-value" not in str(info.value)


def test_403_without_auth_code_names_edit_permission(
    worker: CloudflareWorkerPlatform, mocked: responses.RequestsMock
) -> None:
    """A permission 403 on a write names Workers Scripts:Edit."""
    mocked.put(f"{W}/secrets", status=403, json=cf_error(10403, "forbidden"))
    with pytest.raises(AuthError) as info:
        worker.put_secret("SIGNING_KEY", "x-value")
    assert info.value.hint == "token lacks Workers Scripts:Edit"


def test_404_names_the_config_key(worker: CloudflareWorkerPlatform, mocked: responses.RequestsMock) -> None:
    """A missing script points at targets.<T>.environments.<env>.script."""
    mocked.get(
        f"{W}/secrets", status=404, json=cf_error(10007, "This Worker does not exist on your account.")
    )
    with pytest.raises(NotFoundError) as info:
        worker.list_secrets()
    assert "targets.CLOUDFLARE_WORKER.environments.production.script" in str(info.value)


def test_401_names_the_token(worker: CloudflareWorkerPlatform, mocked: responses.RequestsMock) -> None:
    """A 401 says to check CLOUDFLARE_API_TOKEN."""
    mocked.get(f"{W}/secrets", status=401, json=cf_error(10000, "Authentication error"))
    with pytest.raises(AuthError, match="CLOUDFLARE_API_TOKEN"):
        worker.list_secrets()


def test_missing_envelope_is_malformed(
    worker: CloudflareWorkerPlatform, mocked: responses.RequestsMock
) -> None:
    """A JSON body without the Cloudflare envelope is MalformedResponse."""
    mocked.get(f"{W}/secrets", json=[{"name": "A"}])
    with pytest.raises(MalformedResponse):
        worker.list_secrets()


def test_delete_secret_tolerates_absent(
    worker: CloudflareWorkerPlatform, mocked: responses.RequestsMock
) -> None:
    """Deleting an absent secret is not an error; the name is URL-encoded."""
    mocked.delete(f"{W}/secrets/MY_SECRET?url_encoded=true", status=404, json=cf_error(10056, "not found"))
    worker.delete_secret("MY_SECRET")
    assert len(mocked.calls) == 1


def test_missing_credentials() -> None:
    """Without CLOUDFLARE_API_TOKEN the adapter names the variable to set."""
    with pytest.raises(ConfigError, match="CLOUDFLARE_API_TOKEN"):
        CloudflareWorkerPlatform.from_environ(script="x", environ={"CLOUDFLARE_ACCOUNT_ID": "a"})


def test_insecure_base_url_refused(cf_environ: dict[str, str]) -> None:
    """A non-https CLOUDFLARE_API_BASE_URL on a remote host is refused."""
    with pytest.raises(ConfigError, match="CLOUDFLARE_API_BASE_URL"):
        CloudflareWorkerPlatform.from_environ(
            script="x", environ={**cf_environ, "CLOUDFLARE_API_BASE_URL": "http://api.example.test/client/v4"}
        )


def test_malformed_token_code_is_auth_error(worker: CloudflareWorkerPlatform, mocked: responses.RequestsMock) -> None:
    """Cloudflare's 400 "Invalid request headers" (6003) for a malformed token is an AuthError."""
    mocked.get(f"{W}/secrets", status=400, json=cf_error(6003, "Invalid request headers"))
    with pytest.raises(AuthError, match="CLOUDFLARE_API_TOKEN"):
        worker.list_secrets()
