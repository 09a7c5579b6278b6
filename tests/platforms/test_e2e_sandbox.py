"""Every adapter operation end to end against the sandbox, over real loopback HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deploycheck.config import ProjectConfig, load_config
from deploycheck.errors import AuthError, PlatformError, PlatformTimeout, PlatformUnavailable
from deploycheck.platforms import open_target
from deploycheck.platforms.base import VarChange
from deploycheck.platforms.cloudflare import CloudflarePagesPlatform, CloudflareWorkerPlatform
from deploycheck.platforms.convex import ConvexPlatform, normalize_function_id
from deploycheck.platforms.github_actions import GithubActionsPlatform
from deploycheck.redact import fingerprint

pytestmark = pytest.mark.sandbox

ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENT = "prod-graceful-shrimp-355"


@pytest.fixture(scope="module")
def config() -> ProjectConfig:
    """The repository's deploycheck.yaml (its sandbox environment matches the sandbox seed)."""
    return load_config(ROOT / "deploycheck.yaml")


def _open(config: ProjectConfig, target: str, environ: dict[str, str] | None = None) -> Any:
    return open_target(config, config.targets[target], "sandbox", environ)


@pytest.fixture
def worker(config: ProjectConfig, sandbox_env: dict[str, str]) -> CloudflareWorkerPlatform:
    """The sandbox Worker log-ingestion."""
    adapter = _open(config, "CLOUDFLARE_WORKER")
    assert isinstance(adapter, CloudflareWorkerPlatform)
    return adapter


@pytest.fixture
def pages(config: ProjectConfig, sandbox_env: dict[str, str]) -> CloudflarePagesPlatform:
    """The sandbox Pages project app-web, production stage."""
    adapter = _open(config, "NEXTJS")
    assert isinstance(adapter, CloudflarePagesPlatform)
    return adapter


@pytest.fixture
def convex(config: ProjectConfig, sandbox_env: dict[str, str]) -> ConvexPlatform:
    """The sandbox Convex deployment."""
    adapter = _open(config, "CONVEX")
    assert isinstance(adapter, ConvexPlatform)
    return adapter


@pytest.fixture
def github(config: ProjectConfig, sandbox_env: dict[str, str]) -> GithubActionsPlatform:
    """The sandbox repository example/app, environment production."""
    adapter = _open(config, "GITHUB")
    assert isinstance(adapter, GithubActionsPlatform)
    return adapter


def _worker_state(admin: Any) -> dict[str, Any]:
    return admin.state()["cloudflare"]["workers"]["log-ingestion"]  # type: ignore[no-any-return]


# -- Cloudflare Worker --------------------------------------------------------------------------------


def test_worker_apply_and_read(worker: CloudflareWorkerPlatform, sandbox_admin: Any) -> None:
    """Secrets (bulk) and plain vars (settings) are written, read back, and stored as sent."""
    before = worker.read_config()
    result = worker.apply_config(
        [
            VarChange("UPSTASH_REDIS_REST_URL", "add", "https://eu1.upstash.example", secret=False),
            VarChange("LOG_LEVEL", "add", "info", secret=False),
            VarChange("UPSTASH_REDIS_REST_TOKEN", "add", "sandbox-token-value-1", secret=True),
            VarChange("SIGNING_KEY", "add", "sandbox-signing-value-2", secret=True),
        ]
    )
    assert result.ok and result.marker is not None and result.marker != before.marker
    state = worker.read_config()
    assert state.requests == 3
    assert state.vars["UPSTASH_REDIS_REST_URL"].value == "https://eu1.upstash.example"
    assert state.vars["SIGNING_KEY"].secret and state.vars["SIGNING_KEY"].value is None
    assert state.marker == result.marker
    stored = _worker_state(sandbox_admin)
    assert stored["vars"] == {"UPSTASH_REDIS_REST_URL": "https://eu1.upstash.example", "LOG_LEVEL": "info"}
    assert {k: fingerprint(v) for k, v in stored["secrets"].items()} == {
        "UPSTASH_REDIS_REST_TOKEN": fingerprint("sandbox-token-value-1"),
        "SIGNING_KEY": fingerprint("sandbox-signing-value-2"),
    }
    assert stored["active_version_id"] == state.marker
    bulk = [w for w in sandbox_admin.writes("cloudflare") if w["path"].endswith("/secrets-bulk")]
    assert len(bulk) == 1


def test_worker_remove_and_single_secret_ops(worker: CloudflareWorkerPlatform, sandbox_admin: Any) -> None:
    """put_secret, delete_secret and removals via apply_config change the stored secrets and vars."""
    worker.put_secret("ONE", "value-one-123")
    worker.put_secret("TWO", "value-two-456")
    worker.apply_config(
        [VarChange("KEEP", "add", "k", secret=False), VarChange("DROP", "add", "d", secret=False)]
    )
    worker.delete_secret("ONE")
    worker.apply_config(
        [VarChange("TWO", "remove", None, secret=True), VarChange("DROP", "remove", None, secret=False)]
    )
    stored = _worker_state(sandbox_admin)
    assert stored["secrets"] == {}
    assert stored["vars"] == {"KEEP": "k"}
    assert worker.list_secrets() == []


def test_worker_versions_deployments_rollback(worker: CloudflareWorkerPlatform, sandbox_admin: Any) -> None:
    """Versions and deployments are listed newest first and a rollback moves traffic to the version."""
    versions = worker.list_versions()
    assert [v.number for v in versions] == sorted((v.number or 0 for v in versions), reverse=True)
    deployments = worker.list_deployments()
    assert deployments[0].active and not any(d.active for d in deployments[1:])
    active = worker.active_version()
    assert active == deployments[0].single_version == _worker_state(sandbox_admin)["active_version_id"]
    older = next(v for v in versions if v.id != active)
    assert worker.get_version(older.id).id == older.id
    new = worker.roll_back(older.id, message="e2e rollback")
    assert new.single_version == older.id
    assert worker.active_version() == older.id == _worker_state(sandbox_admin)["active_version_id"]
    assert worker.list_deployments()[0].message == "e2e rollback"


def test_worker_rollback_blocked_by_changed_secrets(
    worker: CloudflareWorkerPlatform, sandbox_admin: Any
) -> None:
    """Rolling back across a secret change fails with 10220 naming the secret; force goes through."""
    old = worker.active_version()
    assert old is not None
    worker.put_secrets({"SIGNING_KEY": "changed-after-old-version"})
    with pytest.raises(PlatformError) as info:
        worker.roll_back(old)
    assert info.value.code == 10220
    assert "SIGNING_KEY" in str(info.value)
    assert "changed-after" not in str(info.value)
    worker.roll_back(old, force=True)
    assert _worker_state(sandbox_admin)["active_version_id"] == old


# -- Cloudflare Pages ---------------------------------------------------------------------------------


def test_pages_apply_and_read(pages: CloudflarePagesPlatform, sandbox_admin: Any) -> None:
    """Env vars are patched in one request and stored; secrets read back unreadable."""
    pages.apply_config(
        [
            VarChange("NEXT_PUBLIC_APP_URL", "add", "https://app.example.com", secret=False),
            VarChange("SENTRY_AUTH_TOKEN", "add", "sntrys-sandbox-value", secret=True),
        ]
    )
    state = pages.read_config()
    assert state.requests == 1
    assert state.vars["NEXT_PUBLIC_APP_URL"].value == "https://app.example.com"
    assert state.vars["SENTRY_AUTH_TOKEN"].secret and state.vars["SENTRY_AUTH_TOKEN"].value is None
    stored = sandbox_admin.state()["cloudflare"]["pages"]["app-web"]["env_vars"]["production"]
    assert fingerprint(_value(stored["SENTRY_AUTH_TOKEN"])) == fingerprint("sntrys-sandbox-value")
    pages.apply_config([VarChange("SENTRY_AUTH_TOKEN", "remove", None, secret=True)])
    assert "SENTRY_AUTH_TOKEN" not in pages.read_config().vars
    assert len([w for w in sandbox_admin.writes("cloudflare") if w["method"] == "PATCH"]) == 2


def _value(entry: Any) -> str:
    return str(entry["value"]) if isinstance(entry, dict) else str(entry)


def test_pages_deployments_and_rollback(pages: CloudflarePagesPlatform, sandbox_admin: Any) -> None:
    """Deployments list with the canonical one active, and a rollback makes an older one canonical."""
    pages.per_page = 2
    deployments = pages.list_deployments()
    assert len(deployments) >= 2
    stored = sandbox_admin.state()["cloudflare"]["pages"]["app-web"]
    assert [d.id for d in deployments if d.active] == [stored["canonical_deployment_id"]]
    active = pages.active_deployment()
    assert active is not None and active.id == stored["canonical_deployment_id"]
    target = next(d for d in deployments if not d.active and d.status == "success")
    assert pages.get_deployment(target.id).id == target.id
    pages.roll_back(target.id)
    assert sandbox_admin.state()["cloudflare"]["pages"]["app-web"]["canonical_deployment_id"] == target.id
    assert pages.read_config().marker == target.id


# -- Convex ---------------------------------------------------------------------------------------


def test_convex_env_round_trip(convex: ConvexPlatform, sandbox_admin: Any) -> None:
    """Env vars are written in one batch, read back, and removed."""
    convex.apply_config(
        [
            VarChange("RESEND_API_KEY", "add", "re_sandbox_value_1", secret=True),
            VarChange("SITE_URL", "add", "https://app.example.com", secret=False),
        ]
    )
    state = convex.read_config()
    assert state.requests == 1
    assert fingerprint(state.vars["RESEND_API_KEY"].value or "") == fingerprint("re_sandbox_value_1")
    stored = sandbox_admin.state()["convex"]["deployments"][DEPLOYMENT]["environment_variables"]
    assert stored["SITE_URL"] == "https://app.example.com"
    convex.apply_config([VarChange("SITE_URL", "remove", None, secret=False)])
    assert "SITE_URL" not in convex.read_config().vars
    assert len(sandbox_admin.writes("convex")) == 2


def test_convex_identity_and_spec(convex: ConvexPlatform, sandbox_admin: Any) -> None:
    """instance_name, deployment_info, function_spec and last_push_time describe the deployment."""
    assert convex.instance_name() == DEPLOYMENT
    assert convex.deployment_info()["kind"] in ("cloud", "selfHosted")
    functions = {normalize_function_id(f) for f in convex.function_spec()}
    assert {"messages:list", "messages:send", "logs:ingest"} <= functions
    stored = sandbox_admin.state()["convex"]["deployments"][DEPLOYMENT]["last_push_time"]
    pushed = convex.last_push_time()
    assert pushed is not None and abs(pushed - stored / 1000.0) < 1.0


# -- GitHub Actions ------------------------------------------------------------------------------


def test_github_secrets_and_variables(github: GithubActionsPlatform, sandbox_admin: Any) -> None:
    """Sealed secrets and variables are written, listed with markers, and deleted."""
    result = github.apply_config(
        [
            VarChange("CLOUDFLARE_API_TOKEN", "add", "gh-secret-value-1", secret=True),
            VarChange("convex_deploy_key", "add", "gh-secret-value-2", secret=True),
            VarChange("APP_URL", "add", "https://app.example.com", secret=False),
        ]
    )
    assert result.ok, result.failed
    assert set(result.markers) == {"CLOUDFLARE_API_TOKEN", "convex_deploy_key"}
    stored = sandbox_admin.state()["github"]["repositories"]["example/app"]["environments"]["production"]
    assert {k: fingerprint(_value(v)) for k, v in stored["secrets"].items()} == {
        "CLOUDFLARE_API_TOKEN": fingerprint("gh-secret-value-1"),
        "CONVEX_DEPLOY_KEY": fingerprint("gh-secret-value-2"),
    }
    assert _value(stored["variables"]["APP_URL"]) == "https://app.example.com"
    state = github.read_config()
    assert state.vars["APP_URL"].value == "https://app.example.com"
    assert state.vars["CONVEX_DEPLOY_KEY"].marker
    github.apply_config(
        [
            VarChange("APP_URL", "change", "https://new.example.com", secret=False),
            VarChange("CLOUDFLARE_API_TOKEN", "remove", None, secret=True),
        ]
    )
    stored = sandbox_admin.state()["github"]["repositories"]["example/app"]["environments"]["production"]
    assert set(stored["secrets"]) == {"CONVEX_DEPLOY_KEY"}
    assert _value(stored["variables"]["APP_URL"]) == "https://new.example.com"


def test_github_pagination(github: GithubActionsPlatform) -> None:
    """More variables than one page are all read, one request per page."""
    github.apply_config([VarChange(f"V{i:02d}", "add", str(i), secret=False) for i in range(35)])
    before = github.requests
    variables = github.list_variables()
    assert len(variables) == 35
    assert github.requests - before == 2


# -- faults and credentials ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "variable"),
    [
        ("CLOUDFLARE_WORKER", "CLOUDFLARE_API_TOKEN"),
        ("NEXTJS", "CLOUDFLARE_API_TOKEN"),
        ("CONVEX", "CONVEX_DEPLOY_KEY"),
        ("GITHUB", "GITHUB_TOKEN"),
    ],
)
def test_wrong_token_refused(
    config: ProjectConfig, sandbox_env: dict[str, str], target: str, variable: str
) -> None:
    """A wrong credential is refused with an AuthError naming what to check."""
    wrong = (
        "prod:prod-graceful-shrimp-355|wrong-key" if variable == "CONVEX_DEPLOY_KEY" else "wrong-token-value"
    )
    adapter = _open(config, target, {**sandbox_env, variable: wrong})
    with pytest.raises(AuthError) as info:
        adapter.read_config()
    assert variable in str(info.value) or "CLOUDFLARE_API_TOKEN" in str(info.value)
    assert "wrong-token-value" not in str(info.value) and "wrong-key" not in str(info.value)


def test_429_with_retry_after_is_retried(worker: CloudflareWorkerPlatform, sandbox_admin: Any) -> None:
    """A 429 with Retry-After from the sandbox is waited out and the read succeeds."""
    sandbox_admin.fault(service="cloudflare", status=429, retry_after=1, count=1)
    state = worker.read_config()
    assert state.requests == 4
    statuses = [r["status"] for r in sandbox_admin.requests("cloudflare")]
    assert statuses[0] == 429 and statuses[1:] == [200, 200, 200]


def test_hang_on_read_is_cut_and_retried(worker: CloudflareWorkerPlatform, sandbox_admin: Any) -> None:
    """A hanging GET is cut by the 2 s read timeout and the retry succeeds."""
    sandbox_admin.fault(service="cloudflare", path="/secrets$", method="GET", hang=True, count=1)
    try:
        assert worker.list_secrets() == []
    finally:
        sandbox_admin.clear_faults()
    assert worker.requests == 2


def test_hang_on_write_times_out_without_retry(worker: CloudflareWorkerPlatform, sandbox_admin: Any) -> None:
    """A hanging deployment POST ends in PlatformTimeout and is not sent twice."""
    target = worker.list_versions()[-1].id
    sandbox_admin.fault(service="cloudflare", path="/deployments$", method="POST", hang=True)
    try:
        with pytest.raises(PlatformTimeout):
            worker.create_deployment({target: 100})
    finally:
        sandbox_admin.clear_faults()
    posts = [w for w in sandbox_admin.writes("cloudflare") if w["path"].endswith("/deployments")]
    assert len(posts) <= 1
    assert worker.requests == 2


def test_500_on_non_idempotent_write_not_retried(
    worker: CloudflareWorkerPlatform, pages: CloudflarePagesPlatform, sandbox_admin: Any
) -> None:
    """A 500 on a deployment POST or a Pages rollback is reported once and never repeated."""
    active = worker.active_version()
    older = next(v.id for v in worker.list_versions() if v.id != active)
    sandbox_admin.fault(service="cloudflare", path="/deployments$", method="POST", status=500, count=5)
    with pytest.raises(PlatformUnavailable, match="not retried"):
        worker.roll_back(older)
    posts = [w for w in sandbox_admin.writes("cloudflare") if w["path"].endswith("/deployments")]
    assert len(posts) == 1
    assert _worker_state(sandbox_admin)["active_version_id"] == active
    sandbox_admin.clear_faults()
    target = next(d.id for d in pages.list_deployments() if not d.active and d.status == "success")
    sandbox_admin.fault(service="cloudflare", path="/rollback$", method="POST", status=500, count=5)
    with pytest.raises(PlatformUnavailable):
        pages.roll_back(target)
    assert len([w for w in sandbox_admin.writes("cloudflare") if w["path"].endswith("/rollback")]) == 1


def test_well_formed_wrong_cloudflare_token(config: ProjectConfig, sandbox_env: dict[str, str]) -> None:
    """A well-formed but unknown Cloudflare token is refused as an AuthError."""
    adapter = _open(config, "CLOUDFLARE_WORKER", {**sandbox_env, "CLOUDFLARE_API_TOKEN": "A" * 40})
    with pytest.raises(AuthError, match="CLOUDFLARE_API_TOKEN"):
        adapter.read_config()
