"""The Cloudflare Pages adapter against recorded Pages API payloads."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import responses

from deploycheck.errors import ConfigError, NotFoundError, PlatformError
from deploycheck.platforms.base import ConfigPlatform, DeploymentPlatform, VarChange
from deploycheck.platforms.cloudflare import CloudflarePagesPlatform

from .conftest import CF, FakeTime, cf_error, cf_ok

P = f"{CF}/pages/projects/app-web"
PD1 = "a1b2c3d4-0001-4fcc-8d4a-28a3cb84f801"
PD2 = "a1b2c3d4-0002-4fcc-8d4a-28a3cb84f802"
PD3 = "a1b2c3d4-0003-4fcc-8d4a-28a3cb84f803"
Recorded = Callable[[str], responses.RequestsMock]


@pytest.fixture
def pages(cf_environ: dict[str, str], fake_time: FakeTime) -> CloudflarePagesPlatform:
    """The production stage of project app-web, two deployments a page."""
    adapter = CloudflarePagesPlatform.from_environ(
        project="app-web", stage="production", environ=cf_environ, target="NEXTJS", env="production"
    )
    adapter.per_page = 2
    fake_time.install(adapter.api.client)
    return adapter


def test_meets_both_protocols(pages: CloudflarePagesPlatform) -> None:
    """The Pages adapter is a ConfigPlatform and a DeploymentPlatform."""
    assert isinstance(pages, ConfigPlatform)
    assert isinstance(pages, DeploymentPlatform)


def test_read_config(pages: CloudflarePagesPlatform, recorded: Recorded) -> None:
    """Plain vars have values, secret_text comes back unreadable, null entries are skipped."""
    recorded("cloudflare_pages")
    state = pages.read_config()
    assert state.requests == 1
    assert state.marker == PD2
    assert state.vars["NEXT_PUBLIC_APP_URL"].value == "https://app.example.com"
    secret = state.vars["SENTRY_AUTH_TOKEN"]
    assert secret.secret and secret.value is None
    assert "REMOVED_VAR" not in state.vars


def test_preview_stage_reads_preview_vars(cf_environ: dict[str, str], recorded: Recorded) -> None:
    """The preview stage reads deployment_configs.preview."""
    recorded("cloudflare_pages")
    adapter = CloudflarePagesPlatform.from_environ(project="app-web", stage="preview", environ=cf_environ)
    state = adapter.read_config()
    assert state.vars["NEXT_PUBLIC_APP_URL"].value == "https://preview.app-web.pages.dev"
    assert state.resource == "app-web/preview"


def test_apply_is_one_patch_with_hash(pages: CloudflarePagesPlatform, recorded: Recorded) -> None:
    """All changes go in one PATCH echoing wrangler_config_hash; removals are null."""
    rsps = recorded("cloudflare_pages")
    result = pages.apply_config(
        [
            VarChange("NEXT_PUBLIC_APP_URL", "change", "https://new.example.com", secret=False),
            VarChange("SENTRY_AUTH_TOKEN", "change", "sntrys-new-token-value", secret=True),
            VarChange("OLD", "remove", None, secret=False),
        ]
    )
    assert result.ok and result.marker == PD2
    patches = [c.request for c in rsps.calls if c.request.method == "PATCH"]
    assert len(patches) == 1
    body = json.loads(patches[0].body)
    stage = body["deployment_configs"]["production"]
    assert stage["wrangler_config_hash"] == "hash-prod-123"
    assert stage["env_vars"]["NEXT_PUBLIC_APP_URL"] == {
        "type": "plain_text",
        "value": "https://new.example.com",
    }
    assert stage["env_vars"]["SENTRY_AUTH_TOKEN"]["type"] == "secret_text"
    assert stage["env_vars"]["OLD"] is None
    assert list(body["deployment_configs"]) == ["production"]


def test_apply_nothing_sends_nothing(pages: CloudflarePagesPlatform, mocked: responses.RequestsMock) -> None:
    """No changes, no requests."""
    assert pages.apply_config([]).applied == ()
    assert pages.requests == 0


def test_list_deployments_reads_every_page(pages: CloudflarePagesPlatform, recorded: Recorded) -> None:
    """Deployments are read until total_count; the canonical one is active."""
    recorded("cloudflare_pages")
    deployments = pages.list_deployments()
    assert [d.id for d in deployments] == [PD3, PD2, PD1]
    assert [d.active for d in deployments] == [False, True, False]
    assert deployments[0].status == "failure"
    assert deployments[2].commit == "ad9ccd918a81025731e10e40267e11273a263d8d"
    assert pages.requests == 3


def test_active_deployment_is_canonical(pages: CloudflarePagesPlatform, recorded: Recorded) -> None:
    """The active deployment is the project's canonical deployment."""
    recorded("cloudflare_pages")
    active = pages.active_deployment()
    assert active is not None and active.id == PD2 and active.active


def test_active_falls_back_to_latest_success(
    pages: CloudflarePagesPlatform, mocked: responses.RequestsMock
) -> None:
    """Without a canonical deployment the latest successful one is active."""
    mocked.get(P, json=cf_ok({"name": "app-web", "canonical_deployment": None}))
    mocked.get(
        f"{P}/deployments?env=production&page=1&per_page=2",
        json=cf_ok(
            [
                {"id": "new", "created_on": "2", "latest_stage": {"status": "failure"}},
                {"id": "old", "created_on": "1", "latest_stage": {"status": "success"}},
            ],
            result_info={"page": 1, "per_page": 2, "total_count": 2},
        ),
    )
    active = pages.active_deployment()
    assert active is not None and active.id == "old"


def test_get_deployment(pages: CloudflarePagesPlatform, recorded: Recorded) -> None:
    """One deployment is read by id."""
    recorded("cloudflare_pages")
    deployment = pages.get_deployment(PD1)
    assert deployment.id == PD1 and deployment.url == "https://a1b2c3d4.app-web.pages.dev"


def test_roll_back_posts_empty_body(pages: CloudflarePagesPlatform, recorded: Recorded) -> None:
    """Rollback POSTs {} to .../deployments/<id>/rollback."""
    rsps = recorded("cloudflare_pages")
    deployment = pages.roll_back(PD1)
    assert deployment.id == PD1 and deployment.active
    post = rsps.calls[-1].request
    assert post.method == "POST" and post.url == f"{P}/deployments/{PD1}/rollback"
    assert json.loads(post.body) == {}


def test_roll_back_not_retried_on_500(pages: CloudflarePagesPlatform, mocked: responses.RequestsMock) -> None:
    """A 5xx on rollback is reported without a second POST."""
    mocked.post(f"{P}/deployments/{PD1}/rollback", status=500, json=cf_error(8000000, "internal"))
    with pytest.raises(PlatformError, match="not retried"):
        pages.roll_back(PD1)
    assert len(mocked.calls) == 1


def test_project_not_found_hint(pages: CloudflarePagesPlatform, mocked: responses.RequestsMock) -> None:
    """Error 8000007 points at the project key in deploycheck.yaml."""
    mocked.get(P, status=404, json=cf_error(8000007, "Project not found."))
    with pytest.raises(NotFoundError) as info:
        pages.read_config()
    assert info.value.code == 8000007
    assert "targets.NEXTJS.environments.production.project" in info.value.hint


def test_unknown_stage_rejected(cf_environ: dict[str, str]) -> None:
    """Only production and preview are stages."""
    with pytest.raises(ConfigError, match="stage"):
        CloudflarePagesPlatform.from_environ(project="app-web", stage="staging", environ=cf_environ)
