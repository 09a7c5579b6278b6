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

pytestmark = pytest.mark.sandbox
requires_wrangler = pytest.mark.skipif(
    not WRANGLER.is_file() or shutil.which("node") is None,
    reason="wrangler is not installed (npm install in fixtures/example/worker)",
)


@pytest.fixture
def wrangler(sandbox_env, tmp_path):
    """Run wrangler against the sandbox with metrics off and a throwaway home; returns a runner."""
    env = {**os.environ, "WRANGLER_SEND_METRICS": "false", "CLOUDFLARE_CF_FETCH_ENABLED": "false",
           "CI": "1", "HOME": str(tmp_path), "NO_COLOR": "1"}

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["node", str(WRANGLER), *args], env=env, cwd=tmp_path, input=stdin,
                              capture_output=True, text=True, timeout=120, check=False)

    return run


@pytest.mark.slow
@requires_wrangler
def test_wrangler_secret_put_and_list(wrangler, sandbox_admin):
    """`wrangler secret put` stores the value; `wrangler secret list` names it."""
    put = wrangler("secret", "put", "MY_SECRET", "--name", "log-ingestion", stdin="value-1\n")
    assert put.returncode == 0, put.stderr
    listed = wrangler("secret", "list", "--name", "log-ingestion", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == [{"name": "MY_SECRET", "type": "secret_text"}]
    stored = sandbox_admin.state()["cloudflare"]["workers"]["log-ingestion"]["secrets"]
    assert fingerprint(stored["MY_SECRET"]) == fingerprint("value-1")


@pytest.mark.slow
@requires_wrangler
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


# -- the endpoints `wrangler deploy` calls (shapes as wrangler 4.86 reads them) -----------------


def _upload(cf, url: str, metadata: dict, *, module: bytes = b"export class RateLimiterDO {}\nexport default {};\n"):
    """A multipart upload like wrangler's: a metadata part and the main module."""
    files = [
        ("metadata", (None, json.dumps({"main_module": "index.js", **metadata}), "application/json")),
        ("index.js", ("index.js", module, "application/javascript+module")),
    ]
    return cf.call("POST" if url.endswith("/versions") else "PUT", url, files=files)


def _do_binding() -> dict:
    return {"type": "durable_object_namespace", "name": "RATE_LIMITER", "class_name": "RateLimiterDO"}


def test_service_lookup_names_the_script_and_its_migration_tag(cf):
    """GET workers/services/{name} answers default_environment.script; an unknown name is 10090."""
    service = cf.result("GET", f"{cf.account}/workers/services/log-ingestion")
    script = service["default_environment"]["script"]
    assert service["default_environment"]["environment"] == "production"
    assert script["id"] == "log-ingestion" and script["migration_tag"] == "v1"
    assert script["last_deployed_from"] == "wrangler" and len(script["tag"]) == 32
    status, code, message = cf.error("GET", f"{cf.account}/workers/services/nope")
    assert (status, code, message) == (404, 10090, "workers.api.error.service_not_found")
    listed = cf.result("GET", f"{cf.account}/workers/scripts")
    assert [(s["id"], s["migration_tag"]) for s in listed] == [("log-ingestion", "v1")]


def test_subdomains_account_and_script(cf):
    """The account subdomain is 'example'; a script subdomain POST without previews_enabled copies enabled."""
    assert cf.result("GET", f"{cf.account}/workers/subdomain") == {"subdomain": "example"}
    url = f"{cf.script()}/subdomain"
    assert cf.result("GET", url) == {"enabled": True, "previews_enabled": True}
    assert cf.result("POST", url, json={"enabled": False}) == {"enabled": False, "previews_enabled": False}
    assert cf.result("GET", url) == {"enabled": False, "previews_enabled": False}
    assert cf.error("POST", url, json={"enabled": "yes"})[:2] == (400, 10021)
    assert cf.error("PUT", f"{cf.account}/workers/subdomain", json={"subdomain": "Not Valid"})[:2] == (400, 10031)


def test_schedules_and_routes_are_replaced_by_put(cf):
    """PUT schedules/routes replaces the list; GET reads it back; a bad cron is refused."""
    assert cf.result("GET", f"{cf.script()}/schedules") == {"schedules": []}
    put = cf.result("PUT", f"{cf.script()}/schedules", json=[{"cron": "*/5 * * * *"}])
    assert [s["cron"] for s in put["schedules"]] == ["*/5 * * * *"]
    assert [s["cron"] for s in cf.result("GET", f"{cf.script()}/schedules")["schedules"]] == ["*/5 * * * *"]
    assert cf.error("PUT", f"{cf.script()}/schedules", json=[{"cron": "never"}])[:2] == (400, 10100)
    cf.result("PUT", f"{cf.script()}/routes", json=[{"pattern": "logs.example.com/*", "zone_name": "example.com"}])
    assert [r["pattern"] for r in cf.result("GET", f"{cf.script()}/routes")] == ["logs.example.com/*"]


def test_script_settings_patch_sets_tags_and_observability(cf):
    """PATCH script-settings updates the non-versioned settings wrangler sends after an upload."""
    body = {"tags": ["cf:service=log-ingestion-dev"], "observability": {"enabled": True}, "logpush": False}
    result = cf.result("PATCH", f"{cf.script()}/script-settings", json=body)
    assert result["tags"] == ["cf:service=log-ingestion-dev"]
    assert cf.result("GET", f"{cf.script()}/script-settings")["observability"] == {"enabled": True}
    service = cf.result("GET", f"{cf.account}/workers/services/log-ingestion")
    assert service["default_environment"]["script"]["tags"] == ["cf:service=log-ingestion-dev"]


def test_uploads_keep_secrets_without_keep_bindings_and_replace_vars(cf, sandbox_admin):
    """A version upload naming no secrets keeps them (Cloudflare persists secrets); unlisted vars go."""
    cf.put_secret("TOKEN", "hidden-value")
    cf.result("PATCH", f"{cf.script()}/settings", json={"bindings": [
        {"type": "plain_text", "name": "OLD", "text": "x"}, {"type": "inherit", "name": "RATE_LIMITER"},
        {"type": "secret_text", "name": "TOKEN"}]})
    response = _upload(cf, f"{cf.script()}/versions", {"bindings": [
        _do_binding(), {"type": "plain_text", "name": "NEW", "text": "y"}]})
    assert response.status_code == 200, response.text
    versions = sandbox_admin.state()["cloudflare"]["workers"]["log-ingestion"]["versions"]
    names = {b["name"]: b for b in versions[-1]["bindings"]}
    assert set(names) == {"RATE_LIMITER", "NEW", "TOKEN"}
    assert fingerprint(names["TOKEN"]["text"]) == fingerprint("hidden-value")
    assert names["RATE_LIMITER"]["namespace_id"] == versions[0]["bindings"][0]["namespace_id"]


def test_migrations_need_the_current_tag_and_a_script_upload(cf, sandbox_admin):
    """A migration from the wrong tag is 10079; one in a version upload is 10211; a good one applies."""
    wrong = {"bindings": [_do_binding()], "migrations": {"new_tag": "v2", "steps": [{"new_sqlite_classes": ["X"]}]}}
    response = _upload(cf, cf.script(), wrong)
    assert (response.status_code, response.json()["errors"][0]["code"]) == (400, 10079)
    good = {"bindings": [_do_binding()],
            "migrations": {"old_tag": "v1", "new_tag": "v2", "steps": [{"new_sqlite_classes": ["X"]}]}}
    response = _upload(cf, f"{cf.script()}/versions", good)
    assert (response.status_code, response.json()["errors"][0]["code"]) == (400, 10211)
    assert _upload(cf, cf.script(), good).status_code == 200
    service = sandbox_admin.state()["cloudflare"]["workers"]["log-ingestion"]["service"]
    assert service["migration_tag"] == "v2"
    assert service["durable_object_classes"] == {"RateLimiterDO": "sqlite", "X": "sqlite"}


def test_a_durable_object_binding_needs_a_migrated_class(cf):
    """A new script binding its own class without a migration is refused with 10061; with one it is created."""
    response = _upload(cf, cf.script("fresh"), {"bindings": [_do_binding()]})
    assert (response.status_code, response.json()["errors"][0]["code"]) == (400, 10061)
    assert cf.error("GET", f"{cf.account}/workers/services/fresh")[1] == 10090
    migrated = {"bindings": [_do_binding()],
                "migrations": {"new_tag": "v1", "steps": [{"new_sqlite_classes": ["RateLimiterDO"]}]}}
    assert _upload(cf, cf.script("fresh"), migrated).status_code == 200
    assert cf.result("GET", f"{cf.account}/workers/services/fresh")["default_environment"]["script"][
        "migration_tag"] == "v1"
