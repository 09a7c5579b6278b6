"""The Pages asset upload protocol and the reads around it, over plain HTTP.

The same flow `wrangler pages deploy` runs (tests/vendortools): an upload token, the
hashes the store lacks, the upload, the upsert, then a deployment whose manifest names
the hashes; plus listing projects, retry, logs, domains and branch-alias serving.
"""

from __future__ import annotations

import base64
import json
import time

import pytest
import requests

from deploycheck.sandbox.cloudflare import AssetStore

pytestmark = pytest.mark.sandbox


def _token(cf) -> str:  # type: ignore[no-untyped-def]
    return cf.result("GET", f"{cf.project()}/upload-token")["jwt"]


def _assets(cf, jwt: str, action: str, body: object) -> requests.Response:  # type: ignore[no-untyped-def]
    return requests.post(
        f"{cf.base}/pages/assets/{action}", headers={"Authorization": f"Bearer {jwt}"}, json=body, timeout=5
    )


def _deploy(cf, manifest: dict[str, str], branch: str) -> requests.Response:  # type: ignore[no-untyped-def]
    fields = {"manifest": (None, json.dumps(manifest)), "branch": (None, branch)}
    return cf.call("POST", f"{cf.project()}/deployments", files=fields)


def test_upload_then_deploy_by_manifest_serves_the_files_on_production_and_the_branch_alias(
    cf, sandbox
) -> None:  # type: ignore[no-untyped-def]
    """Assets uploaded under their hashes are served by a deployment whose manifest names them."""
    jwt = _token(cf)
    page = b'<!doctype html><html><head></head><body data-app="app.example.com">asset flow</body></html>'
    hashes = {"/index.html": "a" * 32, "/app.css": "b" * 32}
    assert _assets(cf, jwt, "check-missing", {"hashes": list(hashes.values())}).json()["result"] == list(
        hashes.values()
    )
    upload = [
        {"key": "a" * 32, "value": base64.b64encode(page).decode(), "metadata": {"contentType": "text/html"},
         "base64": True},
        {"key": "b" * 32, "value": base64.b64encode(b"body{}").decode(), "metadata": {"contentType": "text/css"},
         "base64": True},
    ]  # fmt: skip
    assert _assets(cf, jwt, "upload", upload).status_code == 200
    assert _assets(cf, jwt, "check-missing", {"hashes": list(hashes.values())}).json()["result"] == []
    assert _assets(cf, jwt, "upsert-hashes", {"hashes": list(hashes.values())}).status_code == 200

    preview = _deploy(cf, hashes, "fix/Typo")
    assert preview.status_code == 200, preview.text
    assert preview.json()["result"]["aliases"] == ["https://fix-typo.app-web.pages.dev"]
    served = requests.get(f"{sandbox.pages_url}/", headers={"Host": "fix-typo.app-web.pages.dev"}, timeout=5)
    assert "asset flow" in served.text
    assert "asset flow" not in requests.get(f"{sandbox.pages_url}/", timeout=5).text
    short = preview.json()["result"]["short_id"]
    by_id = requests.get(
        f"{sandbox.pages_url}/app.css", headers={"Host": f"{short}.app-web.pages.dev"}, timeout=5
    )
    assert by_id.text == "body{}"
    assert _deploy(cf, hashes, "main").status_code == 200
    assert "asset flow" in requests.get(f"{sandbox.pages_url}/", timeout=5).text
    unknown = requests.get(f"{sandbox.pages_url}/", headers={"Host": "nope.app-web.pages.dev"}, timeout=5)
    assert unknown.status_code == 404


def test_a_manifest_naming_a_never_uploaded_hash_is_refused(cf) -> None:  # type: ignore[no-untyped-def]
    """8000096 names the file whose hash the store lacks; nothing is deployed."""
    before = len(cf.result("GET", f"{cf.project()}/deployments"))
    status, code, message = cf.error("POST", f"{cf.project()}/deployments", files={
        "manifest": (None, json.dumps({"/index.html": "c" * 32}))})  # fmt: skip
    assert (status, code) == (400, 8000096) and "/index.html" in message
    assert len(cf.result("GET", f"{cf.project()}/deployments")) == before


def test_asset_calls_need_a_valid_unexpired_upload_token(cf, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """No token, the API token, a tampered or an expired token: each 401 with 8000013."""
    body = {"hashes": ["d" * 32]}
    jwt = _token(cf)
    header, payload, signature = jwt.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["exp"] += 3600
    tampered = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    for token in ("", cf.info.cloudflare_api_token, f"{header}.{tampered}.{signature}"):
        response = _assets(cf, token, "check-missing", body)
        assert (response.status_code, response.json()["errors"][0]["code"]) == (401, 8000013), token[:4]
    store = AssetStore("0" * 32)
    issued = store.issue_token("app-web")
    monkeypatch.setattr(time, "time", lambda: claims["exp"] + 10)
    with pytest.raises(Exception, match="expired"):
        store.verify_token(issued)


def test_project_list_retry_logs_and_domains(cf) -> None:  # type: ignore[no-untyped-def]
    """The reads a script starts with, and retry creating a new deployment of the same branch."""
    projects = cf.result("GET", f"{cf.account}/pages/projects")
    assert [p["name"] for p in projects] == ["app-web"]
    assert projects[0]["source"]["type"] == "github" and projects[0]["framework"] == "nextjs"
    newest = cf.result("GET", f"{cf.project()}/deployments")[0]
    retried = cf.result("POST", f"{cf.project()}/deployments/{newest['id']}/retry")
    assert retried["id"] != newest["id"]
    assert (
        retried["deployment_trigger"]["metadata"]["branch"]
        == newest["deployment_trigger"]["metadata"]["branch"]
    )
    logs = cf.result("GET", f"{cf.project()}/deployments/{newest['id']}/history/logs")
    assert logs["total"] == len(logs["data"]) == 5
    assert [d["name"] for d in cf.result("GET", f"{cf.project()}/domains")] == ["app.example.com"]
    assert cf.error("GET", f"{cf.project()}/domains/other.example.com")[:2] == (404, 8000018)
