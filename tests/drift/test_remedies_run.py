"""Every remedy drift prints is a complete command that runs as printed and removes the problem."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_drift_sandbox import Vendors, _drift

from deploycheck.sandbox import SandboxInfo

REPO = Path(__file__).resolve().parents[2]
#: the vendor CLIs a remedy may name, with the arguments each understands (from their sources)
VENDOR_CLIS = ("npx wrangler ", "npx convex ", "gh ")


def _run_as_printed(command: str) -> subprocess.CompletedProcess[str]:
    """Run a printed remedy through the shell, with this environment's deploycheck first on PATH."""
    bin_dir = str(Path(sys.executable).parent)
    environ = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        command, shell=True, cwd=REPO, env=environ, capture_output=True, text=True, timeout=120, check=False,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.mark.sandbox
def test_each_printed_remedy_runs_and_the_drift_is_gone(
    synced: Path, sandbox: SandboxInfo, capsys: pytest.CaptureFixture[str]
) -> None:
    """Drift in three states on three platforms: each printed command exits 0 off a terminal, then drift is clean."""
    vendors = Vendors(sandbox)
    vendors.convex_set("APP_ENV", "staging")  # value_differs
    vendors.worker_delete_secret("log-ingestion", "UPSTASH_REDIS_REST_TOKEN")  # missing
    vendors.pages_set_plain("app-web", "NEXT_PUBLIC_APP_URL", "https://old.example.com")  # value_differs
    code, out = _drift(capsys, "--format", "json")
    assert code == 1
    findings = json.loads(out)["findings"]
    commands = [f["command"] for f in findings if f["command"]]
    assert len(commands) == len(findings) == 3, findings
    for command in commands:
        assert shlex.split(command)[0] == "deploycheck", command
        done = _run_as_printed(command)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
    code, out = _drift(capsys, "--format", "json")
    assert json.loads(out)["findings"] == []
    assert code == 0


def test_vendor_remedies_are_valid_shell() -> None:
    """A remedy naming a vendor CLI parses as one shell command, with no prose such as "(deployment x)"."""
    from deploycheck.drift.compare import _remove_hint
    from deploycheck.platforms.base import RemoteVar

    for platform, resource in (("convex", "prod-graceful-shrimp-355"), ("cloudflare-worker", "log-ingestion"),
                               ("cloudflare-pages", "app-web"), ("github-actions", "example/app:production")):  # fmt: skip
        hint = _remove_hint(platform, resource, "OLD_KEY", RemoteVar("OLD_KEY", None, secret=True))
        assert hint.startswith(VENDOR_CLIS), hint
        words = shlex.split(hint)
        assert "(" not in hint and ")" not in hint, hint
        assert "OLD_KEY" in words and resource.split(":")[0] in words, hint
    assert _remove_hint("convex", "prod-x", "K", RemoteVar("K", "v", secret=False)) == (
        "npx convex env remove K --deployment prod-x"
    )


WORKER_DIR = REPO / "fixtures" / "example" / "worker"
WRANGLER = WORKER_DIR / "node_modules" / "wrangler" / "bin" / "wrangler.js"


@pytest.mark.sandbox
@pytest.mark.slow
@pytest.mark.skipif(
    not WRANGLER.is_file() or shutil.which("npx") is None,
    reason="wrangler is not installed (npm ci --prefix fixtures/example/worker)",
)
def test_the_wrangler_remedy_runs_as_printed(
    synced: Path, sandbox: SandboxInfo, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A Worker secret the SoT lacks: the printed `npx wrangler secret delete ...` runs off a terminal and removes it."""
    import requests

    account = f"{sandbox.cloudflare_api_base_url}/accounts/{sandbox.cloudflare_account_id}"
    put = requests.put(
        f"{account}/workers/scripts/log-ingestion/secrets",
        json={"name": "LEFTOVER_TOKEN", "text": "leftover-value-123", "type": "secret_text"},
        headers={"Authorization": f"Bearer {sandbox.cloudflare_api_token}"},
        timeout=5,
    )
    assert put.status_code == 200, put.text
    _, out = _drift(capsys, "--format", "json")
    [finding] = [f for f in json.loads(out)["findings"] if f["key"] == "LEFTOVER_TOKEN"]
    command = finding["command"]
    assert command == "npx wrangler secret delete LEFTOVER_TOKEN --name log-ingestion"
    environ = {**os.environ, "CI": "1", "WRANGLER_SEND_METRICS": "false", "CLOUDFLARE_CF_FETCH_ENABLED": "false",
               "HOME": str(tmp_path), "NO_COLOR": "1"}  # fmt: skip
    done = subprocess.run(command, shell=True, cwd=WORKER_DIR, env=environ, capture_output=True, text=True,
                          timeout=180, check=False, stdin=subprocess.DEVNULL)  # fmt: skip
    assert done.returncode == 0, (done.stdout, done.stderr)
    _, out = _drift(capsys, "--format", "json")
    assert [f for f in json.loads(out)["findings"] if f["key"] == "LEFTOVER_TOKEN"] == []
