"""The Workers endpoints of `wrangler versions` and split serving, over plain HTTP.

tests/vendortools runs the real wrangler against the same endpoints; these tests pin the
protocol details wrangler relies on, so `tox -e py` catches a regression without Node.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
from collections import Counter

import pytest
import requests

from deploycheck.redact import fingerprint
from deploycheck.sandbox.dataplane import VERSION_HEADER

pytestmark = pytest.mark.sandbox


def _upload(cf, url: str, metadata: dict, code: bytes = b"export default {}") -> requests.Response:  # type: ignore[no-untyped-def]
    files = {
        "metadata": (None, json.dumps({"main_module": "index.js", **metadata}), "application/json"),
        "index.js": ("index.js", code, "application/javascript+module"),
    }
    return cf.call("POST", url, files=files)


def _do_binding() -> dict:  # type: ignore[type-arg]
    return {"type": "durable_object_namespace", "name": "RATE_LIMITER", "class_name": "RateLimiterDO"}


def test_content_v2_returns_the_version_modules_as_multipart_with_the_entrypoint(cf) -> None:  # type: ignore[no-untyped-def]
    """content/v2 answers multipart/form-data, one part per module, the main module in cf-entrypoint."""
    code = b"// candidate\nexport class RateLimiterDO {}\nexport default { fetch() {} };\n"
    uploaded = _upload(cf, f"{cf.script()}/versions", {"bindings": [_do_binding()]}, code)
    assert uploaded.status_code == 200, uploaded.text
    version = uploaded.json()["result"]["id"]

    response = cf.call("GET", f"{cf.script()}/content/v2", params={"version": version})

    assert response.status_code == 200
    assert response.headers["cf-entrypoint"] == "index.js"
    head = f"Content-Type: {response.headers['content-type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + response.content)
    parts = {
        p.get_filename(): (p.get_content_type(), p.get_payload(decode=True)) for p in message.iter_parts()
    }
    assert parts == {"index.js": ("application/javascript+module", code)}
    active = cf.call("GET", f"{cf.script()}/content/v2")  # no version: the deployed one
    assert b"candidate" not in active.content and b"release 3" in active.content


def test_an_upload_listing_keep_bindings_drops_the_unnamed_secrets_of_other_types(cf, sandbox_admin) -> None:  # type: ignore[no-untyped-def]
    """keep_bindings [secret_key] (versions secret delete) drops secret_text bindings it does not name."""
    cf.put_secret("KEEP", "kept-value")
    cf.put_secret("DROP", "dropped-value")
    bindings = [_do_binding(), {"type": "inherit", "name": "KEEP"}]
    response = _upload(cf, f"{cf.script()}/versions", {"bindings": bindings, "keep_bindings": ["secret_key"]})
    assert response.status_code == 200, response.text
    newest = sandbox_admin.state()["cloudflare"]["workers"]["log-ingestion"]["versions"][-1]
    names = {b["name"]: b for b in newest["bindings"]}
    assert set(names) == {"RATE_LIMITER", "KEEP"}
    assert fingerprint(names["KEEP"]["text"]) == fingerprint("kept-value")


def test_patch_latest_version_creates_an_undeployed_version_with_the_changed_secrets(
    cf, sandbox_admin
) -> None:  # type: ignore[no-untyped-def]
    """PATCH workers/workers/{name}/versions/latest adds or removes secrets in a new version, not deployed."""
    cf.put_secret("OLD", "old-value")
    before = cf.deployments()[0]
    url = f"{cf.account}/workers/workers/log-ingestion/versions/latest"
    body = {"env": {"NEW": {"type": "secret_text", "text": "new-value"}, "OLD": None},
            "annotations": {"workers/message": "rotate"}}  # fmt: skip

    result = cf.result(
        "PATCH", url, data=json.dumps(body), headers={"content-type": "application/merge-patch+json"}
    )

    worker = sandbox_admin.state()["cloudflare"]["workers"]["log-ingestion"]
    newest = worker["versions"][-1]
    assert result["id"] == newest["id"] and newest["annotations"]["workers/message"] == "rotate"
    assert {b["name"] for b in newest["bindings"]} == {"RATE_LIMITER", "NEW"}
    assert cf.deployments()[0] == before
    bad = cf.error("PATCH", url, json={"env": {"X": {"type": "plain_text", "text": "v"}}})
    assert bad[:2] == (400, 10021)


def test_single_deployment_read(cf) -> None:  # type: ignore[no-untyped-def]
    """deployments/{id} answers the deployment the list shows; an unknown id is 404 with 10316."""
    first = cf.deployments()[0]
    assert cf.result("GET", f"{cf.script()}/deployments/{first['id']}") == first
    assert cf.error("GET", f"{cf.script()}/deployments/0000")[:2] == (404, 10316)


def test_newer_versions_deploy_despite_changed_secrets_and_rollbacks_need_force(cf) -> None:  # type: ignore[no-untyped-def]
    """10220 refuses a deployment of an older version whose secrets differ, never one of a newer version."""
    older = cf.versions()[1]["id"]
    cf.put_secret("TOKEN", "one")  # a new version, deployed at 100%
    current = cf.versions()[0]["id"]
    url = f"{cf.account}/workers/workers/log-ingestion/versions/latest"
    newer = cf.result("PATCH", url, json={"env": {"TOKEN": {"type": "secret_text", "text": "two"}}})["id"]
    deploy = {"strategy": "percentage", "versions": [{"version_id": newer, "percentage": 100}]}
    assert cf.result("POST", f"{cf.script()}/deployments", json=deploy)["versions"][0]["version_id"] == newer
    back = {"strategy": "percentage", "versions": [{"version_id": older, "percentage": 100}]}
    assert cf.error("POST", f"{cf.script()}/deployments", json=back)[:2] == (400, 10220)
    assert current != newer


def test_the_worker_serves_a_split_by_its_percentages_and_honours_overrides(cf, sandbox) -> None:  # type: ignore[no-untyped-def]
    """A 50/50 split serves both versions (each named in the response header); an override pins one."""
    newest, older = (v["id"] for v in cf.versions()[:2])
    split = {"strategy": "percentage",
             "versions": [{"version_id": older, "percentage": 50}, {"version_id": newest, "percentage": 50}]}  # fmt: skip
    cf.result("POST", f"{cf.script()}/deployments", json=split)
    seen: Counter[str] = Counter()
    with requests.Session() as session:
        for _ in range(60):
            response = session.get(f"{sandbox.worker_url}/health", timeout=5)
            assert response.json()["version"] == response.headers[VERSION_HEADER]
            seen[response.headers[VERSION_HEADER]] += 1
    assert set(seen) == {older, newest}  # each is missed in 60 draws with probability 2**-60
    pinned = {"Cloudflare-Workers-Version-Overrides": f'other="x", log-ingestion="{older}"'}
    for _ in range(5):
        assert (
            requests.get(f"{sandbox.worker_url}/health", headers=pinned, timeout=5).json()["version"] == older
        )
