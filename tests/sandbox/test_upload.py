"""Sandbox uploads (Worker, Pages, Convex) and the ``deploycheck sandbox`` command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from deploycheck.errors import AuthError, UsageError
from deploycheck.sandbox.upload import upload_convex, upload_pages, upload_worker

pytestmark = pytest.mark.sandbox

ROOT = Path(__file__).resolve().parents[2]
WORKER_DIR = ROOT / "fixtures" / "example" / "worker"
DEPLOYCHECK = str(Path(sys.executable).parent / "deploycheck")


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    """A built site: index.html with the app marker, and an asset."""
    site = tmp_path / "site"
    (site / "assets").mkdir(parents=True)
    (site / "index.html").write_text(
        '<!doctype html><html><head><title>app</title></head><body data-app="app.example.com">v2</body></html>'
    )
    (site / "assets" / "app.js").write_text("console.log('v2');\n")
    return site


@pytest.fixture
def convex_dir(tmp_path: Path) -> Path:
    """A Convex functions directory with a schema and one module."""
    convex = tmp_path / "convex"
    (convex / "_generated").mkdir(parents=True)
    (convex / "_generated" / "api.d.ts").write_text("export {};\n")
    (convex / "schema.ts").write_text(
        'import { defineSchema, defineTable } from "convex/server";\n'
        'import { v } from "convex/values";\n'
        "export default defineSchema({ messages: defineTable({ body: v.string() }) });\n"
    )
    (convex / "messages.ts").write_text(
        'import { query } from "./_generated/server";\n'
        "export const list = query({ args: {}, handler: async () => [] });\n"
    )
    return convex


def test_worker_upload_deploys_a_new_version_keeping_secrets(sandbox_env, sandbox, cf, sandbox_admin):
    """Uploading the example Worker deploys a new version that the Worker's /health reports."""
    cf.put_secret("UPSTASH_REDIS_REST_TOKEN", "t")
    result = upload_worker("log-ingestion", WORKER_DIR, os.environ)
    assert cf.deployments()[0]["versions"] == [{"version_id": result["version_id"], "percentage": 100}]
    health = requests.get(f"{sandbox.worker_url}/health", timeout=5).json()
    assert health["version"] == result["version_id"]
    stored = sandbox_admin.state()["cloudflare"]["workers"]["log-ingestion"]
    assert set(stored["secrets"]) == {"UPSTASH_REDIS_REST_TOKEN"}
    assert stored["expected_state_version"] == 2
    assert stored["vars"] == {}


def test_worker_upload_with_vars_sets_the_toml_vars(sandbox_env, sandbox_admin):
    """include_vars uploads the production section's [vars] as plain_text bindings (and only those)."""
    upload_worker("log-ingestion", WORKER_DIR, os.environ, include_vars=True)
    stored = sandbox_admin.state()["cloudflare"]["workers"]["log-ingestion"]
    assert stored["vars"]["CODE_VERSION"] == "production"
    assert "ALLOWED_ORIGINS" not in stored["vars"]  # the top level's dev value stays out


def test_pages_upload_becomes_the_served_site(sandbox_env, sandbox, site_dir):
    """Uploading a site directory creates the canonical production deployment, served with its marker."""
    result = upload_pages("app-web", site_dir, os.environ, commit="b" * 40)
    assert result["environment"] == "production"
    page = requests.get(f"{sandbox.pages_url}/", timeout=5).text
    assert ">v2</body>" in page
    assert f'content="{result["deployment_id"]}"' in page
    assert requests.get(f"{sandbox.pages_url}/assets/app.js", timeout=5).text == "console.log('v2');\n"


def test_convex_upload_pushes_modules_and_schema(sandbox_env, sandbox_admin, convex_dir):
    """A Convex push records the modules (not _generated) and the schema."""
    result = upload_convex(convex_dir, os.environ, message="sha=abc")
    assert result["modules"] == 2
    assert sandbox_admin.writes("convex")[-1]["path"] == "/api/push_config"


def test_uploads_report_missing_environment_and_directory(tmp_path):
    """Missing credentials and a missing directory are reported together as a UsageError."""
    with pytest.raises(UsageError) as caught:
        upload_pages("app-web", tmp_path / "missing", {})
    text = str(caught.value)
    assert "CLOUDFLARE_API_TOKEN is not set" in text and "is not a directory" in text


def test_upload_with_a_wrong_token_is_an_auth_error(sandbox_env, site_dir):
    """A refused token surfaces as AuthError with the vendor code."""
    env = {**os.environ, "CLOUDFLARE_API_TOKEN": "y" * 40}
    with pytest.raises(AuthError) as caught:
        upload_pages("app-web", site_dir, env)
    assert caught.value.code == 10000
    assert "y" * 40 not in str(caught.value)


def test_upload_command_prints_what_it_created(sandbox_env, sandbox, site_dir):
    """`deploycheck sandbox upload pages` prints the new deployment as JSON and exits 0."""
    completed = subprocess.run(
        [DEPLOYCHECK, "sandbox", "upload", "pages", "--project", "app-web",
         "--dir", str(site_dir), "--commit", "c" * 40],
        check=False, capture_output=True, text=True, timeout=60, env=os.environ.copy(),
    )
    assert completed.returncode == 0, completed.stderr
    created = json.loads(completed.stdout)
    assert created["commit_hash"] == "c" * 40
    assert f'content="{created["deployment_id"]}"' in requests.get(f"{sandbox.pages_url}/", timeout=5).text


@pytest.mark.slow
def test_sandbox_command_prints_one_json_line_and_stops_on_sigterm():
    """`deploycheck sandbox --port 0` prints one JSON line, serves, and exits 0 on SIGTERM."""
    process = subprocess.Popen(
        [DEPLOYCHECK, "sandbox", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = process.stdout.readline()
        info = json.loads(line)
        assert info["env"]["APP_URL"] == info["pages_url"]
        health = requests.get(f"{info['worker_url']}/health", timeout=5)
        assert health.json()["status"] == "healthy"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        assert process.stdout.read() == ""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
