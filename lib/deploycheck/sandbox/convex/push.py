"""The push flow ``npx convex deploy`` speaks to a self-hosted deployment (``deploy2``).

The CLI (``src/cli/lib/deploy2.ts``) asks ``/api/get_config_hashes`` which modules the
deployment has, posts the bundled modules to ``/api/deploy2/start_push``
(brotli-compressed), polls ``/api/deploy2/wait_for_schema`` while the backend checks the
stored documents against the pushed schema, then commits with
``/api/deploy2/finish_push``. The backend analyzes modules by running them in V8; the
sandbox runs the same bundles under Node.js (``data/convex_analyze.mjs``) and reads what
``convex/server`` attached to each export, so the function spec and schema are the
code's own. Components and Node-runtime (``"use node"``) modules are refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploycheck.sandbox.convex.functions import Module, Push, module_problem
from deploycheck.sandbox.node import run_node_script

__all__ = [
    "UDF_SERVER_VERSION",
    "Analysis",
    "PendingPush",
    "PushError",
    "analyze_modules",
    "config_hashes",
    "decode_body",
    "finish_push_diff",
    "index_diff",
    "module_hash",
    "parse_start_push",
    "spec_from_analysis",
    "start_push_response",
]

UDF_SERVER_VERSION = "1.48.0"
#: a push's modules must load within this many seconds
ANALYZE_TIMEOUT_S = 60.0


class PushError(Exception):
    """A refused push: HTTP ``status``, the backend's error ``code`` and ``message``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Analysis:
    """What analyzing a push found: each module's functions and the schema (or None)."""

    modules: dict[str, dict[str, Any]]
    schema: dict[str, Any] | None


@dataclass
class PendingPush:
    """A started push awaiting schema validation and ``finish_push``."""

    schema_id: str
    base_pushes: int
    modules: tuple[Module, ...]
    schema_source: str | None
    analysis: Analysis
    dry_run: bool
    validated: bool = False
    failure: dict[str, Any] | None = field(default=None)


def module_hash(source: str, source_map: str | None) -> str:
    """The CLI's ``hash()``: sha256 of the bundled source, then its source map."""
    return hashlib.sha256(source.encode() + (source_map or "").encode()).hexdigest()


def config_hashes(push: Push | None) -> dict[str, Any]:
    """The ``/api/get_config_hashes`` answer: config plus one hash per pushed module."""
    modules = push.modules if push else ()
    return {
        "config": {"functions": "convex/", "authInfo": []},
        "moduleHashes": [
            {"path": m.path, "hash": module_hash(m.source, m.source_map), "environment": "isolate"}
            for m in modules
        ],
        "nodeDependencies": [],
        "udfServerVersion": UDF_SERVER_VERSION,
    }


def decode_body(body: bytes, encoding: str) -> Any:
    """A push body as JSON, brotli-decoded when ``Content-Encoding: br``; raises PushError."""
    if encoding.strip().lower() == "br":
        import brotli  # no stubs published: see [tool.mypy.overrides]

        try:
            body = brotli.decompress(body)
        except brotli.error as exc:
            raise PushError(400, "BadCompression", f"Failed to decompress the brotli body: {exc}") from None
    try:
        return json.loads(body.decode("utf-8") or "null")
    except ValueError as exc:
        raise PushError(400, "BadJsonBody", f"Failed to parse the JSON body: {exc}") from None


def _module(item: Any, where: str) -> Module:
    if (
        not isinstance(item, dict)
        or not isinstance(item.get("path"), str)
        or not isinstance(item.get("source"), str)
    ):
        raise PushError(
            400,
            "BadJsonBody",
            f"Failed to deserialize the JSON body: {where}: missing field `path` or `source`",
        )
    if item.get("environment", "isolate") != "isolate":
        message = f'{item["path"]}: Node.js actions ("use node") are not supported by the sandbox deployment.'
        raise PushError(400, "NodeActionsUnsupported", message)
    problem = module_problem(item["path"])
    if problem:
        raise PushError(400, "InvalidModulePath", problem)
    source_map = item.get("sourceMap")
    return Module(item["path"], item["source"], source_map if isinstance(source_map, str) else None)


def parse_start_push(body: Any, previous: Push | None) -> tuple[tuple[Module, ...], Module | None, bool]:
    """The modules (changed plus unchanged ones taken from ``previous``), schema and dry-run flag."""
    if not isinstance(body, dict) or not isinstance(body.get("appDefinition"), dict):
        raise PushError(
            400, "BadJsonBody", "Failed to deserialize the JSON body: missing field `appDefinition`"
        )
    if body.get("componentDefinitions"):
        raise PushError(
            400, "ComponentsUnsupported", "Components are not supported by the sandbox deployment."
        )
    app = body["appDefinition"]
    changed = app.get("changedModules")
    if not isinstance(changed, list):
        raise PushError(
            400, "BadJsonBody", "Failed to deserialize the JSON body: missing field `changedModules`"
        )
    modules = {m.path: m for m in (_module(item, "changedModules") for item in changed)}
    known = {m.path: m for m in (previous.modules if previous else ())}
    for item in app.get("unchangedModuleHashes") or []:
        path = item.get("path") if isinstance(item, dict) else None
        old = known.get(path) if isinstance(path, str) else None
        if old is None or module_hash(old.source, old.source_map) != item.get("sha256"):
            message = f"Module {path!r} is listed as unchanged but the deployment has no such module."
            raise PushError(400, "ModuleNotFound", message)
        modules[old.path] = old
    schema = _module(app["schema"], "schema") if isinstance(app.get("schema"), dict) else None
    return tuple(sorted(modules.values(), key=lambda m: m.path)), schema, bool(body.get("dryRun"))


def analyze_modules(
    modules: tuple[Module, ...], schema: Module | None, environment: dict[str, str]
) -> Analysis:
    """Run the bundles under Node.js and read their functions and schema; raises PushError."""
    node = shutil.which("node")
    if node is None:
        message = (
            "The sandbox analyzes pushed modules with Node.js; `node` is not on PATH. Install Node.js 20+."
        )
        raise PushError(500, "SandboxNodeMissing", message)
    entry = [m.path for m in modules if not m.path.startswith("_deps/")]
    if schema is not None:
        entry.append(schema.path)
    with tempfile.TemporaryDirectory(prefix="deploycheck-convex-") as tmp:
        root = Path(tmp)
        (root / "package.json").write_text('{"type": "module"}\n', encoding="utf-8")
        for module in (*modules, *([schema] if schema else [])):
            target = root / module.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(module.source, encoding="utf-8")
        # the deployment's env vars, as modules read process.env at import time; nothing of the host's
        env = {**environment, "PATH": os.environ.get("PATH", ""), "NODE_OPTIONS": ""}
        done = run_node_script(
            node, "convex_analyze.mjs", [str(root), *entry], cwd=tmp, timeout=ANALYZE_TIMEOUT_S, env=env
        )
    if done is None:
        message = f"Loading the pushed modules took longer than {ANALYZE_TIMEOUT_S:.0f} s."
        raise PushError(400, "ModuleAnalyzeTimeout", message)
    try:
        result = json.loads(done.stdout or "null")
    except ValueError:
        result = None
    if not isinstance(result, dict):
        detail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise PushError(400, "ModuleAnalyzeFailed", f"Failed to analyze the pushed modules: {detail[0]}")
    if "error" in result:
        raise PushError(400, "ModuleAnalyzeFailed", str(result["error"]))
    return Analysis(result.get("modules") or {}, result.get("schema"))


def spec_from_analysis(analysis: Analysis) -> list[dict[str, Any]]:
    """``_system/cli/modules:apiSpec`` as the system UDF builds it from analyze results."""
    functions: list[dict[str, Any]] = []
    for path, module in analysis.modules.items():
        for fn in module.get("functions") or []:
            args, returns = fn.get("args"), fn.get("returns")
            functions.append(
                {
                    "identifier": f"{path}:{fn['name']}",
                    "functionType": fn["udfType"],
                    "visibility": fn.get("visibility") or {"kind": "public"},
                    "args": json.loads(args) if args and args != "null" else {"type": "any"},
                    "returns": json.loads(returns) if returns and returns != "null" else {"type": "any"},
                }
            )
        for route in module.get("httpRoutes") or []:
            functions.append(
                {
                    "functionType": "HttpAction",
                    "method": route["route"]["method"],
                    "path": route["route"]["path"],
                }
            )
    functions.sort(key=lambda f: (f.get("identifier", ""), f.get("path", ""), f.get("method", "")))
    return functions


def _indexes(schema: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for table in (schema or {}).get("tables", []):
        for index in table.get("indexes", []):
            name = f"{table['tableName']}.{index['indexDescriptor']}"
            found[name] = {"name": name, "type": "database", "fields": list(index["fields"])}
    return found


def index_diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    """Indexes a schema change adds and removes, as ``indexDiffs`` reports them."""
    old, new = _indexes(before), _indexes(after)
    return {
        "added_indexes": [new[n] for n in sorted(new) if n not in old or old[n] != new[n]],
        "removed_indexes": [old[n] for n in sorted(old) if n not in new or old[n] != new[n]],
    }


def start_push_response(
    pending: PendingPush, previous_schema: dict[str, Any] | None, environment: dict[str, str]
) -> dict[str, Any]:
    """The ``start_push`` answer the CLI parses (``startPushResponse`` in startPush.ts)."""
    analysis = pending.analysis
    exports: dict[str, Any] = {}
    for path, module in analysis.modules.items():
        stem = path.rsplit(".", 1)[0]
        children = {
            fn["name"]: {
                "type": "leaf",
                "resource": {
                    "type": "function",
                    "path": {"component": "", "udfPath": f"{stem}:{fn['name']}"},
                },
            }
            for fn in module.get("functions") or []
        }
        if children:
            node: dict[str, Any] = exports
            parts = stem.split("/")
            for part in parts[:-1]:
                node = node.setdefault(part, {"type": "branch", "children": {}})["children"]
            node[parts[-1]] = {"type": "branch", "children": children}
    http = analysis.modules.get("http.js", {}).get("httpRoutes")
    return {
        "environmentVariables": dict(environment),
        "externalDepsId": None,
        "componentDefinitionPackages": {},
        "appAuth": [],
        "analysis": {
            "": {
                "definition": {
                    "path": "",
                    "definitionType": {"type": "app"},
                    "childComponents": [],
                    "httpMounts": {},
                    "exports": {"type": "branch", "branch": []},
                    "envVars": None,
                },
                "schema": analysis.schema,
                "functions": analysis.modules,
                "udfConfig": {
                    "serverVersion": UDF_SERVER_VERSION,
                    "importPhaseRngSeed": {"$bytes": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},
                    "importPhaseUnixTimestamp": {"$integer": "AAAAAAAAAAA="},
                },
            }
        },
        "app": {
            "definitionPath": "",
            "componentPath": "",
            "args": {},
            "childComponents": {},
            "httpRoutes": {
                "httpModuleRoutes": [r["route"] for r in http] if http else None,
                "mounts": [],
            },
            "exports": exports,
        },
        "schemaChange": {
            "allocatedComponentIds": {},
            "schemaIds": {"": pending.schema_id},
            "indexDiffs": {"": index_diff(previous_schema, analysis.schema)},
        },
    }


def finish_push_diff(
    previous: Push | None, pending: PendingPush, previous_schema: dict[str, Any] | None
) -> dict[str, Any]:
    """The ``finish_push`` answer (``finishPushDiff`` in finishPush.ts)."""
    before = {m.path for m in previous.modules} if previous else set()
    after = {m.path for m in pending.modules}
    schema_text = json.dumps(pending.analysis.schema) if pending.analysis.schema else None
    previous_text = json.dumps(previous_schema) if previous_schema else None
    return {
        "authDiff": {"added": [], "removed": []},
        "definitionDiffs": {},
        "componentDiffs": {
            "": {
                "diffType": {"type": "modify"},
                "moduleDiff": {"added": sorted(after - before), "removed": sorted(before - after)},
                "udfConfigDiff": None,
                "cronDiff": {"added": [], "updated": [], "deleted": []},
                "indexDiff": index_diff(previous_schema, pending.analysis.schema),
                "schemaDiff": None
                if schema_text == previous_text
                else {"previous_schema": previous_text, "next_schema": schema_text},
            }
        },
    }
