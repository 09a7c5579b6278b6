"""The real `wrangler deploy` of the example Worker against the sandbox's Workers API.

Each test deploys from a temporary copy of fixtures/example/worker (its node_modules is
linked, wrangler's cache, logs and HOME are temporary), so nothing is written into the
repository. Skipped when wrangler is not installed, unless DEPLOYCHECK_REQUIRE_WRANGLER=1
(see conftest.py).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest
import requests
import yaml

from deploycheck.cli import main
from deploycheck.config import load_config
from deploycheck.platforms import open_target
from deploycheck.redact import fingerprint, register_secret
from deploycheck.sandbox import SandboxInfo
from deploycheck.sandbox.admin import AdminClient

pytestmark = [pytest.mark.sandbox, pytest.mark.slow, pytest.mark.requires_wrangler]

REPO = Path(__file__).resolve().parents[2]
WORKER_DIR = REPO / "fixtures" / "example" / "worker"
SECRET_NAME = "UPSTASH_REDIS_REST_TOKEN"
_VERSION_LINE = re.compile(r"Current Version ID: ([0-9a-f-]{36})")
_STATE_LINE = re.compile(r"const EXPECTED_STATE_VERSION = (\d+);")


@pytest.fixture
def worker_copy(tmp_path: Path) -> Path:
    """A copy of the example Worker (node_modules linked, never copied or written)."""
    if not (WORKER_DIR / "node_modules" / ".bin" / "wrangler").is_file():
        pytest.fail(f"wrangler is not installed in {WORKER_DIR / 'node_modules'}")
    copy = tmp_path / "worker"
    shutil.copytree(
        WORKER_DIR, copy, ignore=shutil.ignore_patterns("node_modules", ".wrangler", ".dev.vars*", ".env*")
    )
    (copy / "node_modules").symlink_to(WORKER_DIR / "node_modules", target_is_directory=True)
    return copy


@pytest.fixture
def wrangler_env(sandbox: SandboxInfo, tmp_path: Path) -> dict[str, str]:
    """The environment of a wrangler run against the sandbox: no login, no metrics, temporary cache."""
    home = tmp_path / "home"
    home.mkdir()
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUDFLARE_", "CF_", "WRANGLER_"))}
    return {
        **inherited,
        **sandbox.environ(),
        "WRANGLER_SEND_METRICS": "false",
        "CLOUDFLARE_CF_FETCH_ENABLED": "false",
        "WRANGLER_HIDE_BANNER": "true",
        "WRANGLER_CACHE_DIR": str(tmp_path / "wrangler-cache"),
        "HOME": str(home),
        "CI": "1",
        "NO_COLOR": "1",
    }


def wrangler_deploy(copy: Path, environ: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run `npx wrangler deploy ARGS` in ``copy``."""
    return subprocess.run(
        ["npx", "--no-install", "wrangler", "deploy", *args],
        cwd=copy,
        env=environ,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def worker_adapter(info: SandboxInfo):  # type: ignore[no-untyped-def]
    """The deploycheck adapter of the sandbox's log-ingestion Worker."""
    config = load_config(REPO / "deploycheck.yaml")
    return open_target(config, config.targets["CLOUDFLARE_WORKER"], "sandbox", info.environ())


def expected_state_version(copy: Path) -> int:
    """The EXPECTED_STATE_VERSION constant of the Worker's source."""
    found = _STATE_LINE.search((copy / "src" / "index.js").read_text())
    assert found is not None
    return int(found.group(1))


def test_wrangler_deploy_production_creates_and_deploys_a_version_keeping_secrets(
    sandbox: SandboxInfo, sandbox_admin: AdminClient, worker_copy: Path, wrangler_env: dict[str, str]
) -> None:
    """`wrangler deploy --env production` uploads a version deployed at 100%; /health serves it; secrets stay."""
    worker = worker_adapter(sandbox)
    token = secrets.token_urlsafe(24)
    register_secret(token)
    worker.put_secret(SECRET_NAME, token)
    versions_before = [v.id for v in worker.list_versions()]
    deployments_before = {d.id for d in worker.list_deployments()}

    result = wrangler_deploy(worker_copy, wrangler_env, "--env", "production")

    assert result.returncode == 0, result.stdout + result.stderr
    found = _VERSION_LINE.search(result.stdout)
    assert found is not None, result.stdout
    version_id = found.group(1)
    assert version_id not in versions_before
    assert [v.id for v in worker.list_versions()][:2] == [version_id, versions_before[0]]
    newest = worker.list_deployments()[0]
    assert newest.id not in deployments_before and newest.active
    assert newest.versions == ((version_id, 100.0),)
    assert worker.active_version() == version_id
    health = requests.get(f"{sandbox.worker_url}/health", timeout=5).json()
    assert health["version"] == version_id
    assert health["expected_state_version"] == expected_state_version(worker_copy)
    assert SECRET_NAME in worker.list_secrets()
    stored = sandbox_admin.state()["cloudflare"]["workers"]["log-ingestion"]
    assert fingerprint(stored["secrets"][SECRET_NAME]) == fingerprint(token)
    assert stored["vars"]["CODE_VERSION"] == "production"  # [env.production.vars] replace the vars
    writes = [(r["method"], r["path"].split("/workers/")[-1]) for r in sandbox_admin.writes()]
    assert ("POST", "scripts/log-ingestion/versions") in writes
    assert ("POST", "scripts/log-ingestion/deployments") in writes


def test_wrangler_deploy_of_a_new_script_applies_its_durable_object_migration(
    sandbox: SandboxInfo, sandbox_admin: AdminClient, worker_copy: Path, wrangler_env: dict[str, str]
) -> None:
    """The top-level Worker (log-ingestion-dev, not yet deployed) is created by a script upload with its migration."""
    result = wrangler_deploy(worker_copy, wrangler_env, "--env", "")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "log-ingestion-dev.example.workers.dev" in result.stdout
    stored = sandbox_admin.state()["cloudflare"]["workers"]["log-ingestion-dev"]
    assert stored["service"]["migration_tag"] == "v1"
    assert stored["service"]["durable_object_classes"] == {"RateLimiterDO": "sqlite"}
    assert stored["service"]["workers_dev"] is True
    assert [d["versions"] for d in stored["deployments"]] == [
        [{"version_id": stored["versions"][0]["id"], "percentage": 100}]
    ]
    writes = [(r["method"], r["path"].split("/workers/")[-1]) for r in sandbox_admin.writes()]
    assert ("PUT", "scripts/log-ingestion-dev") in writes

    again = wrangler_deploy(worker_copy, wrangler_env, "--env", "")  # the tag matches: no migration now
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(sandbox_admin.state()["cloudflare"]["workers"]["log-ingestion-dev"]["versions"]) == 2


def test_deploycheck_deploy_runs_the_real_wrangler_deploy(
    sandbox: SandboxInfo,
    sandbox_env: dict[str, str],
    sandbox_admin: AdminClient,
    worker_copy: Path,
    wrangler_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`deploycheck deploy --platform cloudflare-worker` with `npx wrangler deploy --env production` deploys a new version."""
    raw = yaml.safe_load((REPO / "deploycheck.yaml").read_text())
    raw["environments"]["sandbox"]["sot"] = str(REPO / "fixtures" / "example" / "app.env")
    sandbox_params = raw["targets"]["CLOUDFLARE_WORKER"]["environments"]["sandbox"]
    sandbox_params["deploy_command"] = "npx --no-install wrangler deploy --env production"
    sandbox_params["deploy_cwd"] = str(worker_copy)
    config_path = tmp_path / "deploycheck.yaml"
    config_path.write_text(yaml.safe_dump(raw, sort_keys=False))
    for name in (
        "HOME",
        "WRANGLER_CACHE_DIR",
        "WRANGLER_SEND_METRICS",
        "CLOUDFLARE_CF_FETCH_ENABLED",
        "WRANGLER_HIDE_BANNER",
        "CI",
        "NO_COLOR",
    ):
        monkeypatch.setenv(name, wrangler_env[name])
    state = tmp_path / "state"
    synced = main(
        [
            "sync-env",
            "--mode=deploy-prod",
            "--env",
            "sandbox",
            "--yes",
            "--config",
            str(config_path),
            "--state-dir",
            str(state),
        ]
    )
    assert synced == 0
    secret_before = sandbox_admin.state()["cloudflare"]["workers"]["log-ingestion"]["secrets"][SECRET_NAME]
    worker = worker_adapter(sandbox)
    before = worker.active_version()

    code = main(
        [
            "deploy",
            "--env",
            "sandbox",
            "--platform",
            "cloudflare-worker",
            "--yes",
            "--no-verify",
            "--allow-drift",
            "--config",
            str(config_path),
            "--state-dir",
            str(state),
        ]
    )

    output = capsys.readouterr().out
    assert code == 0, output
    now = worker.active_version()
    assert now is not None and now != before
    assert f"Current Version ID: {now}" in output
    assert worker.list_deployments()[0].versions == ((now, 100.0),)
    assert requests.get(f"{sandbox.worker_url}/health", timeout=5).json()["version"] == now
    stored = sandbox_admin.state()["cloudflare"]["workers"]["log-ingestion"]["secrets"]
    assert fingerprint(stored[SECRET_NAME]) == fingerprint(secret_before)
