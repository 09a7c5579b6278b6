"""Function specs of pushed Convex modules, derived from their source text.

The sandbox does not bundle or run code: it reads each module's exports the way the
Convex CLI's ``function-spec`` reports them (``messages.js:list``, ``Query``,
``{"kind": "public"}``), which is what deployment checks compare against.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MAX_PUSH_MESSAGE_BYTES", "SEED_MODULES", "Module", "Push", "function_spec", "module_problem"]

#: ``PushMessage::MAX_LENGTH`` of the Convex backend
MAX_PUSH_MESSAGE_BYTES = 1024

_KINDS = {
    "query": ("Query", "public"),
    "mutation": ("Mutation", "public"),
    "action": ("Action", "public"),
    "internalQuery": ("Query", "internal"),
    "internalMutation": ("Mutation", "internal"),
    "internalAction": ("Action", "internal"),
    "httpAction": ("HttpAction", "public"),
}
_EXPORT_RE = re.compile(
    r"export\s+const\s+([A-Za-z_$][\w$]*)\s*(?::[^=]+)?=\s*(" + "|".join(_KINDS) + r")\s*(?:<[^>]*>)?\s*\("
)
_ROUTE_RE = re.compile(r"\.route\(\s*\{(?P<body>[^}]*)\}", re.DOTALL)
_ROUTE_FIELD_RE = re.compile(r"\b(path|pathPrefix|method)\s*:\s*[\"'`]([^\"'`]+)[\"'`]")
_MODULE_PATH_RE = re.compile(r"^(?:[A-Za-z0-9_][\w.-]*/)*[A-Za-z0-9_][\w.-]*\.(?:ts|tsx|js|jsx|mjs|cjs)$")


@dataclass(frozen=True)
class Module:
    """One pushed source file, ``path`` relative to the ``convex/`` directory."""

    path: str
    source: str
    source_map: str | None = None


@dataclass
class Push:
    """One accepted push: when, the audit-log message, the schema text, the modules."""

    pushed_at: int
    message: str | None
    schema: str | None
    modules: tuple[Module, ...]
    functions: list[dict[str, Any]] = field(default_factory=list)
    #: the schema as ``defineSchema(...).export()`` gave it (pushes by the Convex CLI only)
    analyzed_schema: dict[str, Any] | None = None

    def summary(self) -> dict[str, Any]:
        """The push as the admin ``/state`` shows it."""
        return {
            "pushed_at": self.pushed_at,
            "message": self.message,
            "schema": self.schema,
            "modules": [module.path for module in self.modules],
            "functions": len(self.functions),
        }


def module_problem(path: str) -> str | None:
    """Why ``path`` cannot be a Convex module path, or ``None`` when it can."""
    if not _MODULE_PATH_RE.match(path) or ".." in path.split("/"):
        return f"Module path {path!r} is invalid: use a relative path ending in .ts or .js."
    return None


def function_spec(modules: tuple[Module, ...]) -> list[dict[str, Any]]:
    """The ``_system/cli/modules:apiSpec`` answer for ``modules``, sorted by identifier."""
    functions: list[dict[str, Any]] = []
    for module in modules:
        if module.path.startswith("_generated/"):
            continue  # generated code, never bundled by the CLI
        stem = module.path.rsplit(".", 1)[0]
        for name, kind in _EXPORT_RE.findall(module.source):
            function_type, visibility = _KINDS[kind]
            functions.append(
                {
                    "identifier": f"{stem}.js:{name}",
                    "functionType": function_type,
                    "visibility": {"kind": visibility},
                    "args": {"type": "any"},
                    "returns": {"type": "any"},
                }
            )
        if stem == "http":
            functions.extend(_http_routes(module.source))
    functions.sort(key=lambda f: (f.get("identifier", ""), f.get("path", ""), f.get("method", "")))
    return functions


def _http_routes(source: str) -> list[dict[str, Any]]:
    routes = []
    for match in _ROUTE_RE.finditer(source):
        fields = dict(_ROUTE_FIELD_RE.findall(match.group("body")))
        path = fields.get("path") or fields.get("pathPrefix")
        if path and "method" in fields:
            routes.append({"functionType": "HttpAction", "method": fields["method"].upper(), "path": path})
    return routes


#: the seeded deployment's code: the reference app's messages and log ingestion
SEED_MODULES = (
    Module(
        "messages.ts",
        'import { v } from "convex/values";\n'
        'import { mutation, query } from "./_generated/server";\n\n'
        "export const list = query({\n"
        "  args: {},\n"
        '  handler: async (ctx) => await ctx.db.query("messages").order("desc").take(50),\n'
        "});\n\n"
        "export const send = mutation({\n"
        "  args: { author: v.string(), body: v.string() },\n"
        '  handler: async (ctx, args) => await ctx.db.insert("messages", args),\n'
        "});\n",
    ),
    Module(
        "logs.ts",
        'import { v } from "convex/values";\n'
        'import { mutation } from "./_generated/server";\n\n'
        "export const ingest = mutation({\n"
        "  args: { level: v.string(), message: v.string() },\n"
        '  handler: async (ctx, args) => await ctx.db.insert("logs", { ...args, at: Date.now() }),\n'
        "});\n",
    ),
)

SEED_SCHEMA = (
    'import { defineSchema, defineTable } from "convex/server";\n'
    'import { v } from "convex/values";\n\n'
    "export default defineSchema({\n"
    "  messages: defineTable({ author: v.string(), body: v.string() }),\n"
    "  logs: defineTable({ level: v.string(), message: v.string(), at: v.number() }),\n"
    "});\n"
)
