"""The Cloudflare Pages API of the sandbox and the site it serves."""

from __future__ import annotations

import json
import re

import pytest
import requests

from deploycheck.redact import fingerprint

pytestmark = pytest.mark.sandbox


def _served_deployment(info) -> str:
    html = requests.get(f"{info.pages_url}/", timeout=5).text
    match = re.search(r'<meta name="deploycheck-deployment" content="([^"]+)">', html)
    assert match, html
    return match.group(1)


def test_seeded_project_has_three_good_production_deployments(cf):
    """app-web: 3 successful + 1 failed production deployments, 1 preview; the newest good one is canonical."""
    production = cf.result("GET", f"{cf.project()}/deployments", params={"env": "production"})
    statuses = [d["latest_stage"]["status"] for d in production]
    assert statuses == ["success", "failure", "success", "success"]
    assert all(d["deployment_trigger"]["metadata"]["commit_hash"] for d in production)
    preview = cf.result("GET", f"{cf.project()}/deployments", params={"env": "preview"})
    assert [d["environment"] for d in preview] == ["preview"]
    project = cf.result("GET", cf.project())
    assert project["canonical_deployment"]["id"] == production[0]["id"]
    assert project["name"] == "app-web"


def test_deployments_list_paginates_with_result_info(cf):
    """page/per_page slice the newest-first list; result_info has every count."""
    body = cf.call("GET", f"{cf.project()}/deployments", params={"page": 2, "per_page": 2}).json()
    assert body["result_info"] == {"page": 2, "per_page": 2, "count": 2, "total_count": 5, "total_pages": 3}
    assert len(body["result"]) == 2


def test_env_vars_patch_merges_and_hides_secret_values(cf, sandbox_admin):
    """PATCH merges env vars (null deletes); GET returns secret_text values as empty strings."""
    project = cf.result("GET", cf.project())
    config_hash = project["deployment_configs"]["production"]["wrangler_config_hash"]

    def patch(env_vars):
        body = {"deployment_configs": {"production": {"env_vars": env_vars, "wrangler_config_hash": config_hash}}}
        return cf.result("PATCH", cf.project(), json=body)

    patch({"FOO": {"type": "plain_text", "value": "bar"}, "API_KEY": {"type": "secret_text", "value": "s3cr3t"},
           "OLD": {"type": "plain_text", "value": "x"}})
    result = patch({"OLD": None})
    env_vars = result["deployment_configs"]["production"]["env_vars"]
    assert env_vars == {"FOO": {"type": "plain_text", "value": "bar"}, "API_KEY": {"type": "secret_text", "value": ""}}
    assert result["deployment_configs"]["production"]["wrangler_config_hash"] == config_hash
    assert result["deployment_configs"]["preview"]["env_vars"] == {}
    stored = sandbox_admin.state()["cloudflare"]["pages"]["app-web"]["env_vars"]["production"]
    assert fingerprint(stored["API_KEY"]["value"]) == fingerprint("s3cr3t")


def test_env_vars_patch_rejects_bad_types(cf, sandbox_admin):
    """An env var of an unknown type is a 400 and changes nothing."""
    body = {"deployment_configs": {"production": {"env_vars": {
        "GOOD": {"type": "plain_text", "value": "1"}, "BAD": {"type": "kv", "value": "1"}}}}}
    status, _, message = cf.error("PATCH", cf.project(), json=body)
    assert status == 400
    assert "BAD" in message
    assert sandbox_admin.state()["cloudflare"]["pages"]["app-web"]["env_vars"]["production"] == {}


def test_unknown_project_and_deployment(cf):
    """An unknown project answers 404/8000007; an unknown deployment 404/8000009."""
    assert cf.error("GET", cf.project("nope"))[:2] == (404, 8000007)
    assert cf.error("GET", f"{cf.project()}/deployments/nope")[:2] == (404, 8000009)


def test_get_one_deployment(cf):
    """GET a deployment by id returns that deployment."""
    first = cf.result("GET", f"{cf.project()}/deployments")[0]
    assert cf.result("GET", f"{cf.project()}/deployments/{first['id']}")["id"] == first["id"]


def test_rollback_switches_the_served_site(cf, sandbox):
    """Rolling back to an older good production deployment makes the site serve it."""
    production = cf.result("GET", f"{cf.project()}/deployments", params={"env": "production"})
    assert _served_deployment(sandbox) == production[0]["id"]
    target = production[2]
    result = cf.result("POST", f"{cf.project()}/deployments/{target['id']}/rollback", json={})
    assert result["id"] == target["id"]
    assert _served_deployment(sandbox) == target["id"]
    assert cf.result("GET", cf.project())["canonical_deployment"]["id"] == target["id"]


@pytest.mark.parametrize("which", ["failed", "preview"])
def test_rollback_refuses_failed_and_preview_deployments(cf, sandbox, which):
    """Only successful production deployments can be rolled back to."""
    deployments = cf.result("GET", f"{cf.project()}/deployments")
    if which == "failed":
        target = next(d for d in deployments if d["latest_stage"]["status"] == "failure")
    else:
        target = next(d for d in deployments if d["environment"] == "preview")
    before = _served_deployment(sandbox)
    status, code, _ = cf.error("POST", f"{cf.project()}/deployments/{target['id']}/rollback", json={})
    assert (status, code) == (400, 8000035)
    assert _served_deployment(sandbox) == before


def test_direct_upload_creates_the_active_production_deployment(cf, sandbox):
    """A multipart direct upload on main becomes canonical and its index.html is served (marked)."""
    html = b'<!doctype html><html><head><title>t</title></head><body data-app="app.example.com">new</body></html>'
    files = [
        ("manifest", (None, json.dumps({"/index.html": "abc"}), "application/json")),
        ("branch", (None, "main")),
        ("commit_hash", (None, "a" * 40)),
        ("commit_message", (None, "Ship it")),
        ("/index.html", ("/index.html", html, "text/html")),
    ]
    created = cf.result("POST", f"{cf.project()}/deployments", files=files)
    assert created["environment"] == "production"
    assert created["deployment_trigger"]["metadata"]["commit_hash"] == "a" * 40
    page = requests.get(f"{sandbox.pages_url}/", timeout=5).text
    assert ">new</body>" in page
    assert _served_deployment(sandbox) == created["id"]


def test_direct_upload_to_another_branch_is_a_preview(cf, sandbox):
    """A direct upload on a non-production branch does not change the served site."""
    before = _served_deployment(sandbox)
    files = [
        ("manifest", (None, json.dumps({"/index.html": "abc"}), "application/json")),
        ("branch", (None, "feature")),
        ("/index.html", ("/index.html", b"<html><head></head>preview</html>", "text/html")),
    ]
    assert cf.result("POST", f"{cf.project()}/deployments", files=files)["environment"] == "preview"
    assert _served_deployment(sandbox) == before


def test_site_serves_the_marker_and_spa_fallback(sandbox):
    """The site has the app marker; unknown paths fall back to index.html; POST is 405."""
    response = requests.get(f"{sandbox.pages_url}/some/route", timeout=5)
    assert response.status_code == 200
    assert 'data-app="app.example.com"' in response.text
    assert response.headers["content-type"].startswith("text/html")
    assert requests.post(f"{sandbox.pages_url}/", timeout=5).status_code == 405
