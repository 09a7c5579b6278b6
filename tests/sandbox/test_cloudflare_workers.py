"""The Cloudflare Workers API of the sandbox: auth, secrets, settings, versions, deployments, uploads."""

from __future__ import annotations

import json

import pytest
import requests

from deploycheck.redact import fingerprint

pytestmark = pytest.mark.sandbox


def _module(state: int, label: str = "x") -> bytes:
    return f"// {label}\nexport const EXPECTED_STATE_VERSION = {state};\nexport default {{ fetch() {{}} }};\n".encode()


def _upload(cf, url, *, state: int = 2, bindings=None, keep=("secret_text",), extra=None):
    metadata = {
        "main_module": "index.js",
        "compatibility_date": "2025-01-01",
        "bindings": bindings or [],
        "keep_bindings": list(keep),
        **(extra or {}),
    }
    files = [
        ("metadata", (None, json.dumps(metadata), "application/json")),
        ("index.js", ("index.js", _module(state), "application/javascript+module")),
    ]
    return cf.call("PUT" if not url.endswith("/versions") else "POST", url, files=files)


# -- auth and routing ------------------------------------------------------------------------


def test_missing_credentials_are_refused_with_9106(cf):
    """No Authorization header answers 400 with code 9106."""
    response = requests.get(f"{cf.script()}/secrets", timeout=5)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == 9106


def test_malformed_authorization_header_answers_6003_with_6111_chain(cf):
    """A header that is not 'Bearer <token>' answers 400 code 6003 with the nested 6111."""
    response = requests.get(f"{cf.script()}/secrets", headers={"Authorization": "Token abc"}, timeout=5)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["code"] == 6003
    assert error["error_chain"][0]["code"] == 6111


def test_unknown_token_answers_403_authentication_error(cf):
    """A well-formed token that is not the sandbox's answers 403 code 10000."""
    headers = {"Authorization": "Bearer " + "x" * 40}
    response = requests.get(f"{cf.script()}/secrets", headers=headers, timeout=5)
    assert response.status_code == 403
    assert response.json()["errors"] == [{"code": 10000, "message": "Authentication error"}]


def test_foreign_account_is_refused_and_malformed_account_is_unroutable(cf):
    """Another 32-hex account answers 403/10000; a malformed id answers 404/7003."""
    other = cf.script().replace(cf.info.cloudflare_account_id, "f" * 32)
    assert cf.error("GET", f"{other}/secrets")[:2] == (403, 10000)
    bad = cf.script().replace(cf.info.cloudflare_account_id, "not-an-account")
    assert cf.error("GET", f"{bad}/secrets")[:2] == (404, 7003)


def test_unknown_script_and_route(cf):
    """An unknown script answers 404/10007; an unknown route 404/7003."""
    assert cf.error("GET", f"{cf.script('nope')}/secrets")[:2] == (404, 10007)
    assert cf.error("GET", f"{cf.script()}/nothing-here")[:2] == (404, 7003)
    assert cf.error("POST", f"{cf.script()}/secrets")[:2] == (405, 10405)


# -- seed ------------------------------------------------------------------------------------


def test_seeded_script_has_three_versions_each_deployed_in_turn(cf, sandbox_admin):
    """log-ingestion starts with 3 versions (state 1, 1, 2), 3 deployments, the newest active."""
    versions = cf.versions()
    deployments = cf.deployments()
    assert [v["number"] for v in versions] == [3, 2, 1]
    assert [d["versions"][0]["version_id"] for d in deployments] == [v["id"] for v in versions]
    assert all(d["versions"][0]["percentage"] == 100 for d in deployments)
    created = [d["created_on"] for d in deployments]
    assert created == sorted(created, reverse=True)
    stored = sandbox_admin.state()["cloudflare"]["workers"]["log-ingestion"]
    assert [v["expected_state_version"] for v in stored["versions"]] == [1, 1, 2]
    assert stored["state_version"] == 2
    assert stored["vars"] == {} and stored["secrets"] == {}


# -- secrets ---------------------------------------------------------------------------------


def test_secret_put_list_get_never_return_the_value(cf, sandbox_admin):
    """A put secret is listed and readable by name and type only; the stored value matches."""
    value = "s3cr3t-value-for-test"
    assert cf.put_secret("API_KEY", value) == {"name": "API_KEY", "type": "secret_text"}
    listing = cf.call("GET", f"{cf.script()}/secrets")
    assert listing.json()["result"] == [{"name": "API_KEY", "type": "secret_text"}]
    one = cf.call("GET", f"{cf.script()}/secrets/API_KEY", params={"url_encoded": "true"})
    assert one.json()["result"] == {"name": "API_KEY", "type": "secret_text"}
    assert value not in listing.text + one.text
    stored = sandbox_admin.state()["cloudflare"]["workers"]["log-ingestion"]["secrets"]
    assert {k: fingerprint(v) for k, v in stored.items()} == {"API_KEY": fingerprint(value)}


def test_secret_put_creates_a_version_and_a_full_deployment(cf):
    """Each secret change is a new API-sourced version deployed at 100%."""
    before = cf.versions()[0]
    cf.put_secret("A", "one")
    latest = cf.versions()[0]
    assert latest["number"] == before["number"] + 1
    assert latest["metadata"]["source"] == "api"
    current = cf.deployments()[0]
    assert current["versions"] == [{"version_id": latest["id"], "percentage": 100}]
    detail = cf.result("GET", f"{cf.script()}/versions/{latest['id']}")
    names = {b["name"]: b for b in detail["resources"]["bindings"]}
    assert names["A"] == {"type": "secret_text", "name": "A"}
    assert "RATE_LIMITER" in names


def test_secret_delete_with_url_encoded_name(cf, sandbox_admin):
    """DELETE ?url_encoded=true removes the secret; deleting it again is 404."""
    cf.put_secret("OLD TOKEN", "x")
    url = f"{cf.script()}/secrets/OLD%20TOKEN"
    assert cf.result("DELETE", url, params={"url_encoded": "true"}) is None
    assert sandbox_admin.state()["cloudflare"]["workers"]["log-ingestion"]["secrets"] == {}
    status, code, _ = cf.error("DELETE", url, params={"url_encoded": "true"})
    assert (status, code) == (404, 10056)


def test_bulk_secrets_merge_patch_semantics(cf, sandbox_admin):
    """Bulk PATCH creates and updates included entries, null deletes, omitted ones stay."""
    cf.put_secret("KEEP", "k")
    cf.put_secret("DROP", "d")
    cf.put_secret("CHANGE", "old")
    body = {
        "secrets": {
            "CHANGE": {"name": "CHANGE", "text": "new", "type": "secret_text"},
            "NEW": {"name": "NEW", "text": "n", "type": "secret_text"},
            "DROP": None,
        }
    }
    result = cf.result(
        "PATCH",
        f"{cf.script()}/secrets-bulk",
        data=json.dumps(body),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert set(result) == {"CHANGE", "NEW"}
    stored = sandbox_admin.state()["cloudflare"]["workers"]["log-ingestion"]["secrets"]
    assert {k: fingerprint(v) for k, v in stored.items()} == {
        "KEEP": fingerprint("k"),
        "CHANGE": fingerprint("new"),
        "NEW": fingerprint("n"),
    }


def test_secret_bindings_that_are_not_secrets_are_refused_naming_the_entry(cf, sandbox_admin):
    """Bulk secrets and a PATCH of the latest version answer 400/10021 naming the entry for a
    secret without string text, of another type, or a binding that is not secret_text; nothing
    is stored."""
    before = sandbox_admin.state()["cloudflare"]["workers"]["log-ingestion"]
    bulk = f"{cf.script()}/secrets-bulk"
    latest = f"{cf.account}/workers/workers/log-ingestion/versions/latest"

    def refused(url: str, field: str, entry: object) -> tuple[int, int, str]:
        return cf.error("PATCH", url, json={field: {"GOOD": {"type": "secret_text", "text": "v"}, "A": entry}})

    assert refused(bulk, "secrets", {"text": 1}) == (400, 10021, "secret 'A' needs a string text")
    assert refused(bulk, "secrets", {"text": "v", "type": "plain_text"}) == (
        400, 10021, "secret 'A': type must be secret_text"
    )
    assert refused(latest, "env", {"type": "plain_text", "text": "v"}) == (
        400, 10021, "binding 'A': only secret_text bindings can be patched"
    )
    assert refused(latest, "env", {"type": "secret_text"}) == (400, 10021, "secret 'A' needs a string text")
    assert sandbox_admin.state()["cloudflare"]["workers"]["log-ingestion"] == before


def test_secret_put_refused_with_10215_while_latest_version_is_not_deployed(cf):
    """After uploading a version without deploying it, secret edits fail with 10215."""
    response = _upload(cf, f"{cf.script()}/versions", state=2)
    assert response.status_code == 200, response.text
    status, code, _ = cf.error(
        "PUT", f"{cf.script()}/secrets", json={"name": "A", "text": "v", "type": "secret_text"}
    )
    assert (status, code) == (400, 10215)


def test_secret_put_rejects_a_malformed_body(cf):
    """A secret without text is a 400."""
    assert cf.error("PUT", f"{cf.script()}/secrets", json={"name": "A"})[0] == 400
    assert cf.error("PUT", f"{cf.script()}/secrets", data="{not json")[0] == 400


# -- settings --------------------------------------------------------------------------------


def test_settings_show_plain_text_values_and_hide_secret_values(cf):
    """GET settings: plain_text bindings carry text, secret_text bindings do not."""
    cf.put_secret("TOKEN", "hidden")
    bindings = [
        {"type": "plain_text", "name": "LOG_LEVEL", "text": "info"},
        {"type": "secret_text", "name": "TOKEN"},
        {"type": "inherit", "name": "RATE_LIMITER"},
    ]
    cf.result("PATCH", f"{cf.script()}/settings", json={"settings": {"bindings": bindings}})
    settings = cf.result("GET", f"{cf.script()}/settings")
    by_name = {b["name"]: b for b in settings["bindings"]}
    assert by_name["LOG_LEVEL"] == {"type": "plain_text", "name": "LOG_LEVEL", "text": "info"}
    assert by_name["TOKEN"] == {"type": "secret_text", "name": "TOKEN"}
    assert by_name["RATE_LIMITER"]["type"] == "durable_object_namespace"
    assert settings["compatibility_date"]


def test_settings_patch_multipart_creates_a_version_and_deployment(cf, sandbox_admin):
    """A multipart settings PATCH of a plain var deploys a new version; keep_bindings keeps secrets."""
    cf.put_secret("TOKEN", "hidden")
    before = len(cf.versions())
    settings = {"bindings": [{"type": "plain_text", "name": "MODE", "text": "on"}],
                "keep_bindings": ["secret_text", "durable_object_namespace"]}
    files = {"settings": (None, json.dumps(settings), "application/json")}
    cf.result("PATCH", f"{cf.script()}/settings", files=files)
    versions = cf.versions()
    assert len(versions) == before + 1
    assert cf.deployments()[0]["versions"][0]["version_id"] == versions[0]["id"]
    stored = sandbox_admin.state()["cloudflare"]["workers"]["log-ingestion"]
    assert stored["vars"] == {"MODE": "on"}
    assert set(stored["secrets"]) == {"TOKEN"}


def test_settings_patch_without_keep_drops_unlisted_bindings(cf, sandbox_admin):
    """The bindings list replaces the current one: an unlisted secret is gone."""
    cf.put_secret("TOKEN", "hidden")
    cf.result("PATCH", f"{cf.script()}/settings",
              json={"bindings": [{"type": "plain_text", "name": "MODE", "text": "on"}]})
    assert sandbox_admin.state()["cloudflare"]["workers"]["log-ingestion"]["secrets"] == {}


def test_script_settings_have_no_bindings(cf):
    """GET script-settings answers script-level settings only."""
    result = cf.result("GET", f"{cf.script()}/script-settings")
    assert "bindings" not in result
    assert result["logpush"] is False


# -- versions and deployments ----------------------------------------------------------------


def test_versions_paginate_newest_first(cf):
    """page/per_page slice the newest-first list; result_info counts every version."""
    first = cf.call("GET", f"{cf.script()}/versions", params={"page": 1, "per_page": 2}).json()
    second = cf.call("GET", f"{cf.script()}/versions", params={"page": 2, "per_page": 2}).json()
    assert [v["number"] for v in first["result"]["items"]] == [3, 2]
    assert [v["number"] for v in second["result"]["items"]] == [1]
    assert first["result_info"] == {"page": 1, "per_page": 2, "count": 2, "total_count": 3}


def test_version_detail_has_bindings_etag_and_annotations(cf):
    """GET one version: resources.bindings, resources.script.etag, annotations."""
    version = cf.versions()[0]
    detail = cf.result("GET", f"{cf.script()}/versions/{version['id']}")
    assert detail["id"] == version["id"]
    assert len(detail["resources"]["script"]["etag"]) == 64
    assert detail["resources"]["bindings"][0]["name"] == "RATE_LIMITER"
    assert "workers/triggered_by" in detail["annotations"]
    assert cf.error("GET", f"{cf.script()}/versions/00000000-0000-0000-0000-000000000000")[0] == 404


def test_rollback_to_previous_version_deploys_it(cf):
    """POST deployments with the previous version at 100% makes it the current deployment."""
    previous = cf.versions()[1]
    body = {"strategy": "percentage", "versions": [{"version_id": previous["id"], "percentage": 100}],
            "annotations": {"workers/message": "Rollback"}}
    created = cf.result("POST", f"{cf.script()}/deployments", json=body)
    assert created["versions"] == [{"version_id": previous["id"], "percentage": 100}]
    assert created["annotations"]["workers/message"] == "Rollback"
    assert cf.deployments()[0]["id"] == created["id"]


def test_rollback_across_a_secret_change_needs_force(cf):
    """Rolling back to a version whose secrets differ fails with 10220 naming them; force=true deploys."""
    cf.put_secret("A", "1")
    cf.put_secret("B", "1")
    target = next(v for v in cf.versions() if v["number"] == 3)
    body = {"strategy": "percentage", "versions": [{"version_id": target["id"], "percentage": 100}]}
    status, code, message = cf.error("POST", f"{cf.script()}/deployments", json=body)
    assert (status, code) == (400, 10220)
    assert message == "The following secrets have changed: A, B"
    created = cf.result("POST", f"{cf.script()}/deployments", json=body, params={"force": "true"})
    assert created["versions"][0]["version_id"] == target["id"]


def test_rollback_to_a_version_with_the_same_secrets_needs_no_force(cf):
    """A version created after the secret change carries the same secret: no 10220."""
    cf.put_secret("A", "1")
    cf.result("PATCH", f"{cf.script()}/settings",
              json={"bindings": [{"type": "plain_text", "name": "X", "text": "1"}],
                    "keep_bindings": ["secret_text", "durable_object_namespace"]})
    with_secret = cf.versions()[1]
    body = {"strategy": "percentage", "versions": [{"version_id": with_secret["id"], "percentage": 100}]}
    assert cf.result("POST", f"{cf.script()}/deployments", json=body)["versions"][0]["version_id"] == with_secret["id"]


@pytest.mark.parametrize(
    "versions",
    [
        [],
        [{"version_id": "v", "percentage": 100}],
        "SPLIT_60_30",
    ],
    ids=["no-versions", "unknown-version", "percentages-not-100"],
)
def test_invalid_deployments_are_refused(cf, versions):
    """A deployment needs known versions whose percentages add up to 100."""
    if versions == "SPLIT_60_30":
        ids = [v["id"] for v in cf.versions()[:2]]
        versions = [{"version_id": ids[0], "percentage": 60}, {"version_id": ids[1], "percentage": 30}]
    status, _, _ = cf.error("POST", f"{cf.script()}/deployments", json={"strategy": "percentage", "versions": versions})
    assert status in (400, 404)


def test_split_deployment_blocks_secret_edits(cf):
    """With a 50/50 deployment the latest version is not at 100%: secret put fails with 10215."""
    ids = [v["id"] for v in cf.versions()[:2]]
    body = {"strategy": "percentage", "versions": [{"version_id": ids[0], "percentage": 50},
                                                   {"version_id": ids[1], "percentage": 50}]}
    cf.result("POST", f"{cf.script()}/deployments", json=body)
    assert cf.error("PUT", f"{cf.script()}/secrets", json={"name": "A", "text": "v"})[1] == 10215


# -- uploads and the Durable Object state version --------------------------------------------


def test_script_upload_creates_and_deploys_a_version(cf, sandbox_admin):
    """PUT script multipart creates a version with the parsed expected state version and deploys it."""
    cf.put_secret("TOKEN", "t")
    response = _upload(cf, cf.script(), state=3, bindings=[
        {"type": "durable_object_namespace", "name": "RATE_LIMITER", "class_name": "RateLimiterDO"},
        {"type": "plain_text", "name": "LOG_LEVEL", "text": "warn"},
    ])
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert result["id"] == "log-ingestion"
    assert cf.deployments()[0]["versions"] == [{"version_id": result["deployment_id"], "percentage": 100}]
    stored = sandbox_admin.state()["cloudflare"]["workers"]["log-ingestion"]
    assert stored["active_version_id"] == result["deployment_id"]
    assert stored["expected_state_version"] == 3
    assert stored["state_version"] == 3
    assert set(stored["secrets"]) == {"TOKEN"}
    assert stored["vars"] == {"LOG_LEVEL": "warn"}


def test_rollback_never_lowers_the_durable_object_state(cf, sandbox_admin):
    """After deploying state 3 code, rolling back to state 2 code keeps state 3."""
    _upload(cf, cf.script(), state=3)
    old = next(v for v in cf.versions() if v["number"] == 3)
    body = {"strategy": "percentage", "versions": [{"version_id": old["id"], "percentage": 100}]}
    cf.result("POST", f"{cf.script()}/deployments", json=body)
    stored = sandbox_admin.state()["cloudflare"]["workers"]["log-ingestion"]
    assert (stored["state_version"], stored["expected_state_version"]) == (3, 2)


def test_upload_of_a_new_script_creates_it(cf):
    """PUT of an unknown script name creates the script with one version."""
    assert _upload(cf, cf.script("other-worker"), state=1).status_code == 200
    assert [v["number"] for v in cf.versions("other-worker")] == [1]


def test_upload_needs_metadata_and_the_main_module(cf):
    """A multipart upload without a metadata part, or naming a missing module, is a 400."""
    files = [("index.js", ("index.js", b"x", "application/javascript+module"))]
    assert cf.error("PUT", cf.script(), files=files)[0] == 400
    response = _upload(cf, cf.script(), extra={"main_module": "missing.js"})
    assert response.status_code == 400
