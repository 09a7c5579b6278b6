"""The sandbox's ``POST /api/push_config`` checks the stored documents against a new schema, as deploy2 does.

``schemaBundle`` is run like a deploy2 push's schema (here a small hand-written ES module
carrying ``export()``, as in ``test_convex_push``); ``deploycheck sandbox upload convex``
builds it with the app's own esbuild and ``convex`` package (the last test, which needs
``npm ci --prefix fixtures/example``).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import requests

from deploycheck.errors import PlatformError
from deploycheck.sandbox import SandboxInfo
from deploycheck.sandbox.admin import AdminClient
from deploycheck.sandbox.upload import upload_convex

pytestmark = [
    pytest.mark.sandbox,
    pytest.mark.skipif(shutil.which("node") is None, reason="the schema analysis runs under Node.js"),
]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "fixtures" / "example"
DEPLOYMENT = "prod-graceful-shrimp-355"
MODULES = [{"path": "messages.ts", "source": "export const x = 1;\n"}]


def bundle(fields: dict[str, bool]) -> str:
    """An ES module whose default export is a schema of ``messages`` with string ``fields`` (name: optional)."""
    document = {
        "type": "object",
        "value": {k: {"fieldType": {"type": "string"}, "optional": o} for k, o in fields.items()},
    }
    table = {"tableName": "messages", "indexes": [], "searchIndexes": [], "vectorIndexes": [],
             "documentType": document}  # fmt: skip
    exported = json.dumps({"tables": [table], "schemaValidation": True})
    return f"export default {{ export() {{ return {json.dumps(exported)}; }} }};\n"


def push(sandbox: SandboxInfo, schema: str | None, schema_bundle: str | None = None) -> requests.Response:
    """One push_config of MODULES with ``schema`` (and ``schemaBundle`` when given)."""
    key = sandbox.environ()["CONVEX_SELF_HOSTED_ADMIN_KEY"]
    body: dict[str, Any] = {"modules": MODULES, "schema": schema, "message": "test"}
    if schema_bundle is not None:
        body["schemaBundle"] = schema_bundle
    return requests.post(
        f"{sandbox.convex_url}/api/push_config", json=body, headers={"Authorization": f"Convex {key}"}, timeout=60
    )


def deployment(admin: AdminClient) -> dict[str, Any]:
    """The emulated deployment's state."""
    return admin.state()["convex"]["deployments"][DEPLOYMENT]  # type: ignore[no-any-return]


def test_a_bundled_schema_that_stored_documents_violate_is_refused(
    sandbox: SandboxInfo, sandbox_admin: AdminClient
) -> None:
    """push_config runs schemaBundle, checks the stored documents with the deploy2 check, refuses with the
    backend's message and changes nothing; the same schema with the field optional is accepted."""
    accepted = push(sandbox, "schema v1", bundle({"author": False}))
    assert accepted.status_code == 200, accepted.text
    assert deployment(sandbox_admin)["schema"]["tables"][0]["tableName"] == "messages"
    with pytest.raises(RuntimeError, match="Object is missing the required field `author`"):
        sandbox_admin.seed_convex_documents("messages", [{"body": "no author"}])  # checked like an insert now
    (doc_id,) = sandbox_admin.seed_convex_documents("messages", [{"author": "ann"}])
    before = deployment(sandbox_admin)
    refused = push(sandbox, "schema v2", bundle({"author": False, "body": False}))
    assert refused.status_code == 400, refused.text
    assert refused.json()["code"] == "SchemaValidationFailed"
    assert refused.json()["message"].startswith(
        f'Document with ID "{doc_id}" in table "messages" does not match the schema: '
        "Object is missing the required field `body`."
    )
    assert deployment(sandbox_admin) == before
    assert push(sandbox, "schema v2", bundle({"author": False, "body": True})).status_code == 200


def test_a_dry_run_is_checked_too(sandbox: SandboxInfo, sandbox_admin: AdminClient) -> None:
    """A dry run of a schema the stored documents violate is refused like the real push."""
    assert push(sandbox, "v1", bundle({"author": False})).status_code == 200
    sandbox_admin.seed_convex_documents("messages", [{"author": "ann"}])
    key = sandbox.environ()["CONVEX_SELF_HOSTED_ADMIN_KEY"]
    body = {"modules": MODULES, "schema": "v2", "schemaBundle": bundle({"author": False, "x": False}),
            "dryRun": True}  # fmt: skip
    answer = requests.post(
        f"{sandbox.convex_url}/api/push_config", json=body, headers={"Authorization": f"Convex {key}"}, timeout=60
    )
    assert answer.status_code == 400 and answer.json()["code"] == "SchemaValidationFailed"


def test_a_new_schema_as_source_only_is_refused_over_stored_documents(
    sandbox: SandboxInfo, sandbox_admin: AdminClient
) -> None:
    """Without schemaBundle the TypeScript cannot be run: a new schema text over stored documents is refused
    (SchemaNotAnalyzed, naming npx convex deploy); the live schema's own text and a push without schema pass."""
    assert push(sandbox, "schema v1", bundle({"author": False})).status_code == 200
    sandbox_admin.seed_convex_documents("messages", [{"author": "ann"}])
    refused = push(sandbox, "schema v2")
    assert refused.status_code == 400, refused.text
    assert refused.json()["code"] == "SchemaNotAnalyzed"
    assert "1 stored documents" in refused.json()["message"] and "npx convex deploy" in refused.json()["message"]
    same = push(sandbox, "schema v1")
    assert same.status_code == 200, same.text
    assert deployment(sandbox_admin)["schema"]["tables"][0]["tableName"] == "messages"  # kept
    assert push(sandbox, None).status_code == 200
    assert deployment(sandbox_admin)["schema"] is None


def test_a_new_schema_as_source_only_is_accepted_on_an_empty_deployment(sandbox: SandboxInfo) -> None:
    """With no stored document there is nothing to check: a source-only schema is stored."""
    answer = push(sandbox, "schema text")
    assert answer.status_code == 200, answer.text


def test_a_schema_bundle_that_is_not_a_schema_is_a_bad_request(sandbox: SandboxInfo) -> None:
    """schemaBundle without schema, or one whose default export has no export(), is refused with a code."""
    assert push(sandbox, None, bundle({})).json()["code"] == "BadJsonBody"
    broken = push(sandbox, "s", "export default 1;\n")
    assert broken.status_code == 400 and broken.json()["code"] == "ModuleAnalyzeFailed"


def test_sandbox_upload_convex_bundles_the_schema_with_the_apps_packages(
    sandbox_env: None, sandbox_admin: AdminClient, tmp_path: Path
) -> None:
    """`deploycheck sandbox upload convex` sends schema.ts bundled by the app's esbuild and convex: the
    deployment stores its export(), and a later schema the stored documents violate fails the upload."""
    modules = EXAMPLE / "node_modules"
    if not (modules / "convex" / "package.json").is_file():
        message = "fixtures/example has no node_modules; run: npm ci --prefix fixtures/example"
        if os.environ.get("DEPLOYCHECK_REQUIRE_CONVEX_CLI") == "1":
            pytest.fail(message)
        pytest.skip(message)
    app = tmp_path / "app"
    shutil.copytree(EXAMPLE / "convex", app / "convex", ignore=shutil.ignore_patterns("_generated"))
    (app / "node_modules").symlink_to(modules.resolve(), target_is_directory=True)
    upload_convex(app / "convex", os.environ)
    schema = deployment(sandbox_admin)["schema"]
    assert sorted(t["tableName"] for t in schema["tables"]) == ["logs", "messages"]
    (doc_id,) = sandbox_admin.seed_convex_documents("messages", [{"author": "ann", "body": "hi"}])
    path = app / "convex" / "schema.ts"
    path.write_text(path.read_text().replace("  body: v.string(),", "  body: v.string(),\n  channel: v.string(),"))
    with pytest.raises(PlatformError) as caught:
        upload_convex(app / "convex", os.environ)
    text = str(caught.value)
    assert "convex" in text and "push functions" in text
    assert f'Document with ID "{doc_id}" in table "messages" does not match the schema' in text
    assert "missing the required field `channel`" in text
