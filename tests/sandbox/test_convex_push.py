"""The sandbox's deploy2 push flow and schema validation, over HTTP as ``npx convex deploy`` sends it.

The modules here are tiny hand-written ES modules carrying what ``convex/server`` attaches
to registered functions and schemas (``isQuery``, ``exportArgs()``, ``export()``), so the
flow runs without the CLI; ``tests/convexcli`` runs it with the real CLI and real bundles.
"""

from __future__ import annotations

import json
import shutil
from typing import Any

import brotli
import pytest
import requests

from deploycheck.sandbox import SandboxInfo
from deploycheck.sandbox.admin import AdminClient
from deploycheck.sandbox.convex import check_document, render_validator

pytestmark = pytest.mark.sandbox
needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="the push analysis runs under Node.js")

STRING = {"type": "string"}


def function_module(name: str, kind: str = "isQuery") -> str:
    """An ES module exporting one registered function ``name``."""
    return (
        f"const fn = () => null; fn.{kind} = true; fn.isPublic = true;\n"
        'fn.exportArgs = () => JSON.stringify({type: "object", value: {}}); fn.exportReturns = () => "null";\n'
        f"export const {name} = fn;\n"
    )


def schema_module(fields: dict[str, Any]) -> str:
    """An ES module whose default export is a schema of table ``messages`` with ``fields``."""
    document = {
        "type": "object",
        "value": {k: {"fieldType": v, "optional": False} for k, v in fields.items()},
    }
    table = {
        "tableName": "messages",
        "indexes": [{"indexDescriptor": "by_author", "fields": ["author"]}],
        "searchIndexes": [],
        "vectorIndexes": [],
        "documentType": document,
    }
    exported = json.dumps({"tables": [table], "schemaValidation": True})
    return f"export default {{ export() {{ return {json.dumps(exported)}; }} }};\n"


def push_body(key: str, modules: dict[str, str], schema: str | None) -> dict[str, Any]:
    """A start_push request as the CLI builds it."""
    return {
        "adminKey": key,
        "dryRun": False,
        "functions": "convex/",
        "appDefinition": {
            "definition": None,
            "dependencies": [],
            "schema": {"path": "schema.js", "source": schema, "environment": "isolate"} if schema else None,
            "changedModules": [
                {"path": p, "source": s, "environment": "isolate"} for p, s in modules.items()
            ],
            "unchangedModuleHashes": [],
            "udfServerVersion": "1.48.0",
        },
        "componentDefinitions": [],
        "nodeDependencies": [],
    }


class Deployment:
    """HTTP calls of the push flow against the sandbox's Convex deployment."""

    def __init__(self, sandbox: SandboxInfo) -> None:
        self.url = sandbox.convex_url
        self.key = sandbox.environ()["CONVEX_SELF_HOSTED_ADMIN_KEY"]

    def post(self, path: str, body: Any, *, compress: bool = False) -> requests.Response:
        """POST ``body`` as the CLI does (brotli when ``compress``)."""
        headers = {"Authorization": f"Convex {self.key}", "Content-Type": "application/json"}
        data = json.dumps(body).encode()
        if compress:
            data, headers["Content-Encoding"] = brotli.compress(data), "br"
        return requests.post(self.url + path, data=data, headers=headers, timeout=60)

    def push(self, modules: dict[str, str], schema: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
        """start_push then wait_for_schema; returns both answers."""
        started = self.post("/api/deploy2/start_push", push_body(self.key, modules, schema), compress=True)
        assert started.status_code == 200, started.text
        start = started.json()
        waited = self.post(
            "/api/deploy2/wait_for_schema", {"schemaChange": start["schemaChange"], "timeoutMs": 1000}
        )
        assert waited.status_code == 200, waited.text
        return start, waited.json()

    def finish(self, start: dict[str, Any]) -> requests.Response:
        """finish_push of a started push."""
        return self.post(
            "/api/deploy2/finish_push",
            {"adminKey": self.key, "startPush": start, "dryRun": False},
            compress=True,
        )


@needs_node
def test_push_analyzes_modules_and_updates_the_function_spec(
    sandbox: SandboxInfo, sandbox_admin: AdminClient
) -> None:
    """start_push reports the analysis and index diff; finish_push replaces the function spec."""
    deployment = Deployment(sandbox)
    start, status = deployment.push({"notes.js": function_module("list")}, schema_module({"author": STRING}))
    assert start["analysis"][""]["functions"]["notes.js"]["functions"][0]["udfType"] == "Query"
    assert start["schemaChange"]["indexDiffs"][""]["added_indexes"] == [
        {"name": "messages.by_author", "type": "database", "fields": ["author"]}
    ]
    assert start["app"]["exports"]["notes"]["children"]["list"]["resource"]["path"]["udfPath"] == "notes:list"
    assert status == {"type": "complete"}
    finished = deployment.finish(start)
    assert finished.status_code == 200, finished.text
    assert finished.json()["componentDiffs"][""]["moduleDiff"]["added"] == ["notes.js"]
    state = sandbox_admin.state()["convex"]["deployments"]["prod-graceful-shrimp-355"]
    assert [f["identifier"] for f in state["functions"]] == ["notes.js:list"]
    assert state["functions"][0]["returns"] == {"type": "any"}


@needs_node
def test_schema_that_stored_documents_violate_is_refused(
    sandbox: SandboxInfo, sandbox_admin: AdminClient
) -> None:
    """wait_for_schema fails with the backend's message and finish_push refuses; nothing changes."""
    deployment = Deployment(sandbox)
    start, _ = deployment.push({"notes.js": function_module("list")}, schema_module({"author": STRING}))
    assert deployment.finish(start).status_code == 200
    (doc_id,) = sandbox_admin.seed_convex_documents("messages", [{"author": "ann"}])
    before = sandbox_admin.state()["convex"]
    start, status = deployment.push(
        {"notes.js": function_module("list")}, schema_module({"author": STRING, "body": STRING})
    )
    assert status["type"] == "failed" and status["tableName"] == "messages" and status["componentPath"] == ""
    assert status["error"].startswith(
        f'Document with ID "{doc_id}" in table "messages" does not match the schema: '
        "Object is missing the required field `body`. Consider wrapping the field validator in "
        "`v.optional(...)` if this is expected.\n\nObject: {_creationTime: "
    )
    assert status["error"].endswith(
        'Validator: v.object({_creationTime: v.float64(), _id: v.id("messages"), author: v.string(), body: v.string()})'
    )
    refused = deployment.finish(start)
    assert refused.status_code == 400 and refused.json()["code"] == "SchemaValidationFailed"
    assert sandbox_admin.state()["convex"] == before


def test_seeded_documents_are_checked_like_inserts(sandbox: SandboxInfo, sandbox_admin: AdminClient) -> None:
    """The admin API refuses documents with system fields; without a CLI schema anything is stored."""
    with pytest.raises(RuntimeError, match="without system fields"):
        sandbox_admin.seed_convex_documents("messages", [{"_id": "x"}])
    ids = sandbox_admin.seed_convex_documents("anything", [{"a": 1}, {"b": [True, None]}])
    stored = sandbox_admin.state()["convex"]["deployments"]["prod-graceful-shrimp-355"]["documents"][
        "anything"
    ]
    assert [d["_id"] for d in stored] == ids


def test_push_errors_are_the_backends_shape(sandbox: SandboxInfo) -> None:
    """A corrupt brotli body, a bad key and a components push are refused with {code, message}."""
    deployment = Deployment(sandbox)
    corrupt = requests.post(
        deployment.url + "/api/deploy2/start_push",
        data=b"not brotli",
        headers={"Authorization": f"Convex {deployment.key}", "Content-Encoding": "br"},
        timeout=10,
    )
    assert corrupt.status_code == 400 and corrupt.json()["code"] == "BadCompression"
    deployment.key = "prod-graceful-shrimp-355|wrong"
    assert deployment.post("/api/deploy2/start_push", {}).json()["code"] == "BadAdminKey"
    deployment.key = Deployment(sandbox).key
    body = push_body(deployment.key, {}, None) | {"componentDefinitions": [{"definitionPath": "x"}]}
    assert deployment.post("/api/deploy2/start_push", body).json()["code"] == "ComponentsUnsupported"


@pytest.mark.parametrize(
    ("validator", "value", "problem"),
    [
        (
            {"type": "number"},
            "7",
            'Value does not match validator.\nPath: .n\nValue: "7"\nValidator: v.float64()',
        ),
        (
            {"type": "array", "value": STRING},
            ["a", 2],
            "Value does not match validator.\nPath: .n[1]\nValue: 2.0",
        ),
        (
            {"type": "literal", "value": "a"},
            "b",
            '`"b"` does not match literal validator `v.literal("a")`.Path: .n',
        ),
        ({"type": "union", "value": [STRING, {"type": "null"}]}, None, None),
    ],
)
def test_validation_messages_follow_the_backend(
    validator: dict[str, Any], value: Any, problem: str | None
) -> None:
    """Field problems carry the backend's Path:, Value: and Validator: renderings."""
    table = {"type": "object", "value": {"n": {"fieldType": validator, "optional": False}}}
    violation = check_document("t", {"_id": "1", "_creationTime": 1.0, "n": value}, table, {"1": "t"})
    if problem is None:
        assert violation is None
    else:
        assert violation is not None
        assert violation.message.startswith(
            'Document with ID "1" in table "t" does not match the schema: ' + problem
        )


def test_render_validator_prints_v_calls() -> None:
    """Validators print as the v.* expressions that define them."""
    record = {
        "type": "record",
        "keys": STRING,
        "values": {"fieldType": {"type": "bigint"}, "optional": False},
    }
    optional = {
        "type": "object",
        "value": {"x": {"fieldType": {"type": "id", "tableName": "u"}, "optional": True}},
    }
    assert render_validator(record) == "v.record(v.string(), v.int64())"
    assert render_validator(optional) == 'v.object({x: v.optional(v.id("u"))})'
