"""open_target / open_local: one adapter per target and environment, from deploycheck.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploycheck.config import load_config
from deploycheck.errors import ConfigError
from deploycheck.platforms import BUILTIN, get_spec, open_local, open_target, platform_names
from deploycheck.platforms.cloudflare import CloudflarePagesPlatform, CloudflareWorkerPlatform
from deploycheck.platforms.convex import ConvexPlatform
from deploycheck.platforms.github_actions import GithubActionsPlatform
from deploycheck.platforms.local_dotenv import LocalDotenvPlatform

ROOT = Path(__file__).resolve().parents[2]
ENVIRON = {
    "CLOUDFLARE_API_TOKEN": "cf-token",
    "CLOUDFLARE_ACCOUNT_ID": "0" * 32,
    "GITHUB_TOKEN": "gh-token",
    "CONVEX_DEPLOY_KEY": "prod:prod-graceful-shrimp-355|abc",
}


@pytest.fixture(scope="module")
def config():  # type: ignore[no-untyped-def]
    """The repository's deploycheck.yaml."""
    return load_config(ROOT / "deploycheck.yaml")


def test_every_platform_registered() -> None:
    """Every built-in platform is registered (entry points included) and its spec loads under its name."""
    assert set(BUILTIN) <= set(platform_names())
    assert {get_spec(name).name for name in platform_names()} == set(platform_names())


def test_unknown_platform() -> None:
    """An unknown platform name lists the valid ones."""
    with pytest.raises(ConfigError, match="cloudflare-pages"):
        get_spec("heroku")


@pytest.mark.parametrize(
    ("target", "cls", "resource"),
    [
        ("NEXTJS", CloudflarePagesPlatform, "app-web/production"),
        ("CLOUDFLARE_WORKER", CloudflareWorkerPlatform, "log-ingestion"),
        ("CONVEX", ConvexPlatform, "prod-graceful-shrimp-355"),
        ("GITHUB", GithubActionsPlatform, "example/app:production"),
    ],
)
def test_open_target_production(config, target: str, cls: type, resource: str) -> None:  # type: ignore[no-untyped-def]
    """Each production target opens its adapter with the configured resource."""
    adapter = open_target(config, config.targets[target], "production", ENVIRON)
    assert isinstance(adapter, cls)
    assert adapter.resource == resource
    assert adapter.requests == 0


def test_convex_url_from_target(config) -> None:  # type: ignore[no-untyped-def]
    """Without CONVEX_URL the target's url parameter is used."""
    adapter = open_target(config, config.targets["CONVEX"], "production", ENVIRON)
    assert isinstance(adapter, ConvexPlatform)
    assert adapter.client.base_url == "https://prod-graceful-shrimp-355.convex.cloud"


def test_base_url_overrides(config) -> None:  # type: ignore[no-untyped-def]
    """Vendor base-URL variables override the defaults."""
    environ = {**ENVIRON, "CLOUDFLARE_API_BASE_URL": "http://127.0.0.1:9999/client/v4"}
    adapter = open_target(config, config.targets["CLOUDFLARE_WORKER"], "production", environ)
    assert isinstance(adapter, CloudflareWorkerPlatform)
    assert adapter.api.client.base_url == "http://127.0.0.1:9999/client/v4"


def test_not_deployed_in_env(config) -> None:  # type: ignore[no-untyped-def]
    """A target without parameters for the environment is a ConfigError."""
    with pytest.raises(ConfigError, match="not deployed"):
        open_target(config, config.targets["GITHUB"], "nowhere", ENVIRON)


def test_missing_credentials_listed(config) -> None:  # type: ignore[no-untyped-def]
    """Missing Cloudflare credentials are named."""
    with pytest.raises(ConfigError) as info:
        open_target(config, config.targets["NEXTJS"], "production", {})
    assert {p.path for p in info.value.problems} == {"CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID"}


def test_open_local(tmp_path: Path) -> None:
    """open_local gives the dotenv adapter of a path."""
    adapter = open_local(tmp_path / ".env.local")
    assert isinstance(adapter, LocalDotenvPlatform)
    assert adapter.resource == str(tmp_path / ".env.local")
