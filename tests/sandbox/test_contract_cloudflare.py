"""Contract tests: the Cloudflare emulator's responses validated against Cloudflare's OpenAPI description.

The description is the 2024-08 subset in ``fixtures/vendor-api/cloudflare-openapi-subset.json``
(copied from the shared vendor reference). Three gaps of that spec are handled here,
each explicitly:

- its binding ``oneOf`` predates ``plain_text``/``secret_text`` bindings; the shapes the
  2026 TypeScript SDK documents are added before validating;
- its ``4XX`` responses are ``allOf`` a success envelope (``success: true``) and the
  failure envelope (``success: false``), which nothing satisfies; errors are checked
  against the failure envelope alone;
- the Workers ``/secrets`` and ``/secrets-bulk`` paths are missing; their responses are
  checked against JSON Schemas of the documented shapes (cloudflare.md section 2).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

pytestmark = pytest.mark.sandbox

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_SPEC = ROOT / "fixtures" / "vendor-api" / "cloudflare-openapi-subset.json"
SHARED_SPEC = ROOT.parent / "shared" / "vendor-api" / "cloudflare-openapi-subset.json"
SERVER = "https://api.cloudflare.com"

EXTRA_BINDINGS = {
    "workers_plain_text_binding": {
        "type": "object",
        "required": ["name", "type", "text"],
        "properties": {"name": {"type": "string"}, "type": {"enum": ["plain_text"]}, "text": {"type": "string"}},
    },
    "workers_secret_text_binding": {
        "type": "object",
        "required": ["name", "type"],
        "properties": {"name": {"type": "string"}, "type": {"enum": ["secret_text"]}},
        "not": {"required": ["text"]},
    },
}

MESSAGES = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {"code": {"type": "integer", "minimum": 1000}, "message": {"type": "string"}},
    },
}
FAILURE = {
    "type": "object",
    "required": ["success", "errors", "messages", "result"],
    "properties": {
        "success": {"const": False},
        "errors": {**MESSAGES, "minItems": 1},
        "messages": MESSAGES,
        "result": {"type": "null"},
    },
}
SECRET = {
    "type": "object",
    "required": ["name", "type"],
    "properties": {"name": {"type": "string"}, "type": {"enum": ["secret_text", "secret_key"]}},
    "additionalProperties": False,
}


def _envelope(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["success", "errors", "messages", "result"],
        "properties": {"success": {"const": True}, "errors": {"maxItems": 0}, "messages": MESSAGES, "result": result},
    }


SECRETS_SCHEMAS = {
    "list": _envelope({"type": "array", "items": SECRET}),
    "one": _envelope(SECRET),
    "delete": _envelope({"anyOf": [{"type": "null"}, {"type": "object", "maxProperties": 0}]}),
    "bulk": _envelope({"type": "object", "additionalProperties": SECRET}),
}


def load_spec() -> dict[str, Any]:
    """The subset from fixtures (same file as the shared reference when that is present), gaps filled."""
    spec = json.loads(FIXTURE_SPEC.read_text(encoding="utf-8"))
    if SHARED_SPEC.is_file():
        assert json.loads(SHARED_SPEC.read_text(encoding="utf-8")) == spec, "fixtures copy differs from shared/"
    spec = copy.deepcopy(spec)
    schemas = spec["components"]["schemas"]
    schemas.update(EXTRA_BINDINGS)
    schemas["workers_binding"]["oneOf"] += [{"$ref": f"#/components/schemas/{name}"} for name in EXTRA_BINDINGS]
    return spec


@pytest.fixture(scope="module")
def openapi() -> OpenAPI:
    """Cloudflare's OpenAPI subset, with the 2024 binding gap filled."""
    return OpenAPI.from_dict(load_spec())


def check(openapi: OpenAPI, method: str, response: requests.Response, query: dict[str, str] | None = None) -> Any:
    """Validate a 2xx response against the spec operation of its path; return its JSON."""
    __tracebackhide__ = True
    assert response.status_code == 200, response.text
    path = response.request.path_url.split("?")[0]
    request = MockRequest(SERVER, method.lower(), path, args=query or {})
    mock = MockResponse(response.content, status_code=response.status_code, content_type="application/json")
    openapi.validate_response(request, mock)
    return response.json()


def test_workers_operations_match_the_spec(openapi, cf):
    """settings, script-settings, versions (list, page, detail), deployments (list, create) validate."""
    cf.put_secret("TOKEN", "t")
    cf.result("PATCH", f"{cf.script()}/settings", json={"bindings": [
        {"type": "plain_text", "name": "LOG_LEVEL", "text": "info"}],
        "keep_bindings": ["secret_text", "durable_object_namespace"]})
    settings = check(openapi, "GET", cf.call("GET", f"{cf.script()}/settings"))
    assert {b["type"] for b in settings["result"]["bindings"]} == {
        "plain_text", "secret_text", "durable_object_namespace"}
    check(openapi, "GET", cf.call("GET", f"{cf.script()}/script-settings"))
    query = {"page": "2", "per_page": "2"}
    check(openapi, "GET", cf.call("GET", f"{cf.script()}/versions", params=query), query)
    check(openapi, "GET", cf.call("GET", f"{cf.script()}/versions", params={"deployable": "true"}),
          {"deployable": "true"})
    versions = check(openapi, "GET", cf.call("GET", f"{cf.script()}/versions"))["result"]["items"]
    check(openapi, "GET", cf.call("GET", f"{cf.script()}/versions/{versions[0]['id']}"))
    check(openapi, "GET", cf.call("GET", f"{cf.script()}/deployments"))
    body = {"strategy": "percentage", "versions": [{"version_id": versions[1]["id"], "percentage": 100}],
            "annotations": {"workers/message": "Rollback"}}
    created = cf.call("POST", f"{cf.script()}/deployments", json=body)
    check(openapi, "POST", created)
    split = {"strategy": "percentage", "versions": [{"version_id": versions[0]["id"], "percentage": 25},
                                                    {"version_id": versions[1]["id"], "percentage": 75}]}
    check(openapi, "POST", cf.call("POST", f"{cf.script()}/deployments", json=split))
    check(openapi, "GET", cf.call("GET", f"{cf.script()}/deployments"))


def test_pages_operations_match_the_spec(openapi, cf):
    """project (get, patch), deployments (list, page, get), rollback validate."""
    check(openapi, "GET", cf.call("GET", cf.project()))
    patch = {"deployment_configs": {"production": {"env_vars": {
        "FOO": {"type": "plain_text", "value": "bar"}, "KEY": {"type": "secret_text", "value": "v"}}}}}
    patched = check(openapi, "PATCH", cf.call("PATCH", cf.project(), json=patch))
    assert patched["result"]["deployment_configs"]["production"]["env_vars"]["KEY"]["value"] == ""
    for query in ({}, {"env": "production"}, {"env": "preview"}):
        check(openapi, "GET", cf.call("GET", f"{cf.project()}/deployments", params=query), query)
    listed = cf.result("GET", f"{cf.project()}/deployments", params={"env": "production"})
    for deployment in listed:
        check(openapi, "GET", cf.call("GET", f"{cf.project()}/deployments/{deployment['id']}"))
    good = [d for d in listed if d["latest_stage"]["status"] == "success"]
    check(openapi, "POST", cf.call("POST", f"{cf.project()}/deployments/{good[-1]['id']}/rollback", json={}))
    check(openapi, "GET", cf.call("GET", cf.project()))


def test_secrets_operations_match_the_documented_shapes(cf):
    """list, get, put, bulk and delete of Workers secrets match the documented shapes, never a value."""
    put = cf.call("PUT", f"{cf.script()}/secrets", json={"name": "A", "text": "v", "type": "secret_text"})
    jsonschema.validate(put.json(), SECRETS_SCHEMAS["one"])
    jsonschema.validate(cf.call("GET", f"{cf.script()}/secrets").json(), SECRETS_SCHEMAS["list"])
    jsonschema.validate(cf.call("GET", f"{cf.script()}/secrets/A").json(), SECRETS_SCHEMAS["one"])
    bulk = cf.call("PATCH", f"{cf.script()}/secrets-bulk",
                   data=json.dumps({"secrets": {"B": {"name": "B", "text": "w", "type": "secret_text"}, "A": None}}),
                   headers={"Content-Type": "application/merge-patch+json"})
    jsonschema.validate(bulk.json(), SECRETS_SCHEMAS["bulk"])
    deleted = cf.call("DELETE", f"{cf.script()}/secrets/B", params={"url_encoded": "true"})
    jsonschema.validate(deleted.json(), SECRETS_SCHEMAS["delete"])


def test_every_error_is_a_failure_envelope(cf):
    """Auth refusals, unknown resources and refused writes all answer the failure envelope."""
    responses = [
        requests.get(f"{cf.script()}/secrets", timeout=5),
        requests.get(f"{cf.script()}/secrets", headers={"Authorization": "Basic x"}, timeout=5),
        requests.get(f"{cf.script()}/secrets", headers={"Authorization": "Bearer " + "z" * 40}, timeout=5),
        cf.call("GET", f"{cf.script('missing')}/settings"),
        cf.call("GET", cf.project("missing")),
        cf.call("GET", f"{cf.project()}/deployments/missing"),
        cf.call("POST", f"{cf.script()}/deployments", json={"strategy": "percentage", "versions": []}),
        cf.call("GET", f"{cf.base}/nothing"),
    ]
    for response in responses:
        assert response.status_code >= 400
        jsonschema.validate(response.json(), FAILURE)
