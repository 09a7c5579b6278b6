"""The real wrangler CLI (installed by the example Worker's package.json) against the sandbox."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from deploycheck.redact import fingerprint

ROOT = Path(__file__).resolve().parents[2]
WRANGLER = ROOT / "fixtures" / "example" / "worker" / "node_modules" / "wrangler" / "bin" / "wrangler.js"

pytestmark = [
    pytest.mark.sandbox,
    pytest.mark.slow,
    pytest.mark.skipif(
        not WRANGLER.is_file() or shutil.which("node") is None,
        reason="wrangler is not installed (npm install in fixtures/example/worker)",
    ),
]


@pytest.fixture
def wrangler(sandbox_env, tmp_path):
    """Run wrangler against the sandbox with metrics off and a throwaway home; returns a runner."""
    env = {**os.environ, "WRANGLER_SEND_METRICS": "false", "CLOUDFLARE_CF_FETCH_ENABLED": "false",
           "CI": "1", "HOME": str(tmp_path), "NO_COLOR": "1"}

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["node", str(WRANGLER), *args], env=env, cwd=tmp_path, input=stdin,
                              capture_output=True, text=True, timeout=120, check=False)

    return run


def test_wrangler_secret_put_and_list(wrangler, sandbox_admin):
    """`wrangler secret put` stores the value; `wrangler secret list` names it."""
    put = wrangler("secret", "put", "MY_SECRET", "--name", "log-ingestion", stdin="value-1\n")
    assert put.returncode == 0, put.stderr
    listed = wrangler("secret", "list", "--name", "log-ingestion", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == [{"name": "MY_SECRET", "type": "secret_text"}]
    stored = sandbox_admin.state()["cloudflare"]["workers"]["log-ingestion"]["secrets"]
    assert fingerprint(stored["MY_SECRET"]) == fingerprint("value-1")


def test_wrangler_deployments_list_and_rollback(wrangler, cf):
    """`wrangler deployments list` shows the seeded versions; `wrangler rollback` deploys the previous one."""
    versions = cf.versions()
    listed = wrangler("deployments", "list", "--name", "log-ingestion")
    assert listed.returncode == 0, listed.stderr
    assert all(v["id"] in listed.stdout for v in versions)
    rolled = wrangler("rollback", "--name", "log-ingestion", "-y", "--message", "back")
    assert rolled.returncode == 0, rolled.stderr
    current = cf.deployments()[0]
    assert current["versions"] == [{"version_id": versions[1]["id"], "percentage": 100}]
    assert current["annotations"] == {"workers/triggered_by": "rollback", "workers/message": "back"}
