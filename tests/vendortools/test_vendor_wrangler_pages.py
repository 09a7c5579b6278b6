"""`wrangler pages deploy` and the other Pages commands against the sandbox's Pages API.

wrangler runs the asset upload protocol (upload token, check-missing, upload,
upsert-hashes, then the deployment with its manifest); the Pages site then serves the
uploaded files under the production domain and the branch alias.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from deploycheck.sandbox import SandboxInfo
from deploycheck.sandbox.admin import AdminClient

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
WEB_DIR = REPO / "fixtures" / "example" / "web"
WranglerRun = Callable[..., subprocess.CompletedProcess[str]]
_DEPLOYED = re.compile(r"Take a peek over at https://([0-9a-f]{8})\.app-web\.pages\.dev")


def asset_calls(admin: AdminClient) -> list[str]:
    """The asset-protocol and deployment requests the sandbox served, in order."""
    names = ("/upload-token", "/pages/assets/", "/app-web/deployments")
    return [
        f"{r['method']} {r['path'].split('/client/v4')[-1]}"
        for r in admin.requests()
        if (any(n in r["path"] for n in names) and r["method"] == "POST") or "upload-token" in r["path"]
    ]


def test_pages_deploy_uploads_the_missing_assets_and_the_site_serves_them(
    sandbox: SandboxInfo, sandbox_admin: AdminClient, wrangler: WranglerRun, tmp_path: Path
) -> None:
    """A production deploy uploads every file once, a second deploy none, and a preview deploy is
    served under its branch alias while production keeps serving the production one."""
    site = tmp_path / "site"
    site.mkdir()
    for item in WEB_DIR.iterdir():
        if item.is_file():
            (site / item.name).write_bytes(item.read_bytes())
    sandbox_admin.clear_requests()

    first = wrangler(
        "pages", "deploy", str(site), "--project-name", "app-web", "--branch", "main", cwd=tmp_path
    )

    assert first.returncode == 0, first.stdout + first.stderr
    files = len(list(site.iterdir()))
    assert f"Uploaded {files} files" in first.stdout
    calls = asset_calls(sandbox_admin)
    assert calls[0].endswith("/pages/projects/app-web/upload-token")
    assert "POST /pages/assets/check-missing" in calls and "POST /pages/assets/upload" in calls
    assert calls.index("POST /pages/assets/upsert-hashes") < len(calls) - 1
    assert calls[-1].endswith("/pages/projects/app-web/deployments")
    found = _DEPLOYED.search(first.stdout)
    assert found is not None, first.stdout
    production = requests.get(f"{sandbox.pages_url}/", timeout=5)
    assert production.status_code == 200
    assert 'data-app="app.example.com"' in production.text
    assert f'content="{found.group(1)}' in production.text  # the new deployment is the canonical one

    sandbox_admin.clear_requests()
    again = wrangler(
        "pages", "deploy", str(site), "--project-name", "app-web", "--branch", "main", cwd=tmp_path
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"Uploaded 0 files ({files} already uploaded)" in again.stdout
    assert "POST /pages/assets/upload" not in asset_calls(sandbox_admin)

    (site / "index.html").write_text(
        (site / "index.html").read_text().replace("</body>", "<p>preview</p></body>")
    )
    preview = wrangler(
        "pages", "deploy", str(site), "--project-name", "app-web", "--branch", "Feature/New-UI", cwd=tmp_path
    )
    assert preview.returncode == 0, preview.stdout + preview.stderr
    assert "Uploaded 1 files" in preview.stdout
    assert "Deployment alias URL: https://feature-new-ui.app-web.pages.dev" in preview.stdout
    aliased = requests.get(
        f"{sandbox.pages_url}/", headers={"Host": "feature-new-ui.app-web.pages.dev"}, timeout=5
    )
    assert "<p>preview</p>" in aliased.text
    assert "<p>preview</p>" not in requests.get(f"{sandbox.pages_url}/", timeout=5).text


def test_pages_project_and_deployment_listings(
    sandbox: SandboxInfo, wrangler: WranglerRun, tmp_path: Path
) -> None:
    """`pages project list` and `pages deployment list` read the sandbox's project and history."""
    projects = wrangler("pages", "project", "list", cwd=tmp_path)
    assert projects.returncode == 0, projects.stdout + projects.stderr
    assert "app-web" in projects.stdout and "app.example.com" in projects.stdout
    deployments = wrangler("pages", "deployment", "list", "--project-name", "app-web", cwd=tmp_path)
    assert deployments.returncode == 0, deployments.stdout + deployments.stderr
    assert deployments.stdout.count("https://") >= 5 and "feature-x" in deployments.stdout


def test_an_upload_with_a_forged_token_is_refused(sandbox: SandboxInfo) -> None:
    """The asset endpoints refuse a token the sandbox did not sign (401, code 8000013)."""
    header, payload, _ = (
        requests.get(
            f"{sandbox.cloudflare_api_base_url}/accounts/{sandbox.cloudflare_account_id}"
            "/pages/projects/app-web/upload-token",
            headers={"Authorization": f"Bearer {sandbox.cloudflare_api_token}"},
            timeout=5,
        )
        .json()["result"]["jwt"]
        .split(".")
    )
    forged = f"{header}.{payload}.c2lnbmF0dXJl"
    response = requests.post(
        f"{sandbox.cloudflare_api_base_url}/pages/assets/check-missing",
        headers={"Authorization": f"Bearer {forged}"},
        json={"hashes": ["0" * 32]},
        timeout=5,
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == 8000013
