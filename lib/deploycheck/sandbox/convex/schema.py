"""Schema validation of stored documents, as the Convex backend runs it on a push.

Validators are the JSON the CLI's ``defineSchema(...).export()`` produces
(``{"type": "object", "value": {field: {"fieldType": ..., "optional": ...}}}``); the
checks and messages follow ``crates/common/src/schemas/validator.rs`` and
``schemas/mod.rs`` (``Document with ID "..." in table "..." does not match the schema:
Object is missing the required field `x`. ...``), including its ``Object:``,
``Validator:`` and ``Path:`` renderings.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["SchemaViolation", "check_document", "render_validator", "schema_failure", "table_validators"]

_SYSTEM_FIELDS = ("_id", "_creationTime")


@dataclass(frozen=True)
class SchemaViolation:
    """One document that does not match its table's validator: the backend's message."""

    table: str
    document_id: str | None
    message: str


def table_validators(schema: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Each table's document validator of an analyzed schema (empty without validation)."""
    if not schema or not schema.get("schemaValidation", True):
        return {}
    return {
        str(table["tableName"]): table["documentType"]
        for table in schema.get("tables", [])
        if isinstance(table, dict) and isinstance(table.get("documentType"), dict)
    }


def schema_failure(
    schema: dict[str, Any] | None, documents: Mapping[str, list[dict[str, Any]]], ids: Mapping[str, str]
) -> dict[str, Any] | None:
    """The ``failed`` schema status for the first stored document ``schema`` rejects, else None.

    The one check every push path of the emulator runs before it accepts a schema: tables
    in table-name order, documents in insertion order, as the backend's
    ``SchemaWorker`` reports the first mismatch (``{"type": "failed", "error", "tableName",
    "componentPath"}``). Tables the schema does not list, and every table when it has
    ``schemaValidation: false``, are not checked (:func:`table_validators`).
    """
    validators = table_validators(schema)
    for table in sorted(documents):
        validator = validators.get(table)
        if validator is None:
            continue
        for document in documents[table]:
            violation = check_document(table, document, validator, ids)
            if violation is not None:
                return {"type": "failed", "error": violation.message, "componentPath": "", "tableName": table}
    return None


def check_document(
    table: str,
    document: dict[str, Any],
    validator: dict[str, Any],
    ids: Mapping[str, str],
    *,
    existing: bool = True,
) -> SchemaViolation | None:
    """The violation of ``document`` (with ``_id``/``_creationTime``) against ``validator``.

    ``ids`` maps every stored document id to its table, for ``v.id("table")`` checks.
    """
    full = _with_system_fields(validator, table)
    problem = _check(full, document, ids)
    if problem is None:
        return None
    document_id = document.get("_id")
    if existing:
        message = f'Document with ID "{document_id}" in table "{table}" does not match the schema: {problem}'
    else:
        message = f'New document in table "{table}" does not match the schema: {problem}'
    return SchemaViolation(table, document_id if isinstance(document_id, str) else None, message)


def _with_system_fields(validator: dict[str, Any], table: str) -> dict[str, Any]:
    """The table validator with the system fields the backend adds to top-level objects."""
    if validator.get("type") == "union":
        return {"type": "union", "value": [_with_system_fields(m, table) for m in validator["value"]]}
    if validator.get("type") != "object":
        return validator
    fields = dict(validator.get("value", {}))
    fields.setdefault("_id", {"fieldType": {"type": "id", "tableName": table}, "optional": False})
    fields.setdefault("_creationTime", {"fieldType": {"type": "number"}, "optional": False})
    return {"type": "object", "value": fields}


def _check(validator: dict[str, Any], value: Any, ids: Mapping[str, str]) -> str | None:  # noqa: PLR0911, PLR0912 - one arm per validator
    kind = validator.get("type")
    if kind == "any":
        return None
    if kind == "union":
        members = validator.get("value", [])
        if len(members) == 1:
            return _check(members[0], value, ids)
        if any(_check(member, value, ids) is None for member in members):
            return None
        return _no_match(value, validator)
    if kind == "literal":
        expected = validator.get("value")
        if value != expected or type(value) is not type(expected):
            literal = json.dumps(expected) if isinstance(expected, str | bool | int | float) else "<bigint>"
            return f"`{render_value(value)}` does not match literal validator `v.literal({literal})`."
        return None
    if kind == "array":
        if not isinstance(value, list):
            return _no_match(value, validator)
        for index, element in enumerate(value):
            problem = _check(validator["value"], element, ids)
            if problem is not None:
                return _with_path(problem, f"[{index}]")
        return None
    if kind == "record":
        if not _is_object(value):
            return _no_match(value, validator)
        for key, element in value.items():
            problem = _check(validator["keys"], key, ids)
            if problem is not None:
                return _with_path(problem, ".keys()")
            problem = _check(validator["values"]["fieldType"], element, ids)
            if problem is not None:
                return _with_path(problem, ".values()")
        return None
    if kind == "object":
        if not _is_object(value):
            return _no_match(value, validator)
        return _check_object(validator, value, ids)
    if _is_scalar_match(kind, validator, value, ids):
        return None
    return _no_match(value, validator)


def _check_object(validator: dict[str, Any], value: dict[str, Any], ids: Mapping[str, str]) -> str | None:
    fields: dict[str, Any] = validator.get("value", {})
    for name in sorted(fields):
        field = fields[name]
        if name in value:
            problem = _check(field["fieldType"], value[name], ids)
            if problem is not None:
                return _with_path(problem, f".{name}")
        elif not field.get("optional", False):
            return (
                f"Object is missing the required field `{name}`. Consider wrapping the field "
                "validator in `v.optional(...)` if this is expected.\n\n"
                f"Object: {render_value(value)}\nValidator: {render_validator(validator)}"
            )
    for name in sorted(value):
        if name not in fields:
            return (
                f"Object contains extra field `{name}` that is not in the validator.\n\n"
                f"Object: {render_value(value)}\nValidator: {render_validator(validator)}"
            )
    return None


def _is_scalar_match(  # noqa: PLR0911 - one arm per validator
    kind: Any, validator: dict[str, Any], value: Any, ids: Mapping[str, str]
) -> bool:
    if kind == "null":
        return value is None
    if kind == "number":
        return (isinstance(value, int | float) and not isinstance(value, bool)) or _tagged(value, "$float")
    if kind in ("bigint", "commitTs"):
        return _tagged(value, "$integer")
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "bytes":
        return _tagged(value, "$bytes")
    if kind == "id":
        return isinstance(value, str) and ids.get(value) == validator.get("tableName")
    return False


def _tagged(value: Any, tag: str) -> bool:
    return isinstance(value, dict) and list(value) == [tag]


def _is_object(value: Any) -> bool:
    return isinstance(value, dict) and not any(key.startswith("$") for key in value)


def _no_match(value: Any, validator: dict[str, Any]) -> str:
    shown = render_validator(validator)
    return f"Value does not match validator.\n\nValue: {render_value(value)}\nValidator: {shown}"


def _with_path(problem: str, element: str) -> str:
    """Prefix ``element`` to the message's ``Path:`` (the backend builds it inside out)."""
    marker = "Path: "
    at = problem.find(marker)
    if at >= 0:
        return problem[: at + len(marker)] + element + problem[at + len(marker) :]
    if "\n\n" in problem:
        head, tail = problem.split("\n\n", 1)
        return f"{head}\n{marker}{element}\n{tail}"
    return f"{problem}{marker}{element}"


def render_value(value: Any) -> str:  # noqa: PLR0911 - one arm per value type
    """A value as the backend's ``Display for ConvexValue`` prints it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{float(value)!r}"
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(render_value(v) for v in value) + "]"
    if isinstance(value, dict):
        if _tagged(value, "$integer") or _tagged(value, "$bytes") or _tagged(value, "$float"):
            return json.dumps(value)
        return "{" + ", ".join(f"{k}: {render_value(value[k])}" for k in sorted(value)) + "}"
    return str(value)


def render_validator(validator: dict[str, Any]) -> str:  # noqa: PLR0911 - one arm per validator
    """A validator as the backend's ``Display for Validator`` prints it (``v.string()``...)."""
    kind = validator.get("type")
    simple = {
        "null": "v.null()",
        "number": "v.float64()",
        "bigint": "v.int64()",
        "commitTs": "v.commitTs()",
        "boolean": "v.boolean()",
        "string": "v.string()",
        "bytes": "v.bytes()",
        "any": "v.any()",
    }
    if kind in simple:
        return simple[str(kind)]
    if kind == "id":
        return f'v.id("{validator.get("tableName")}")'
    if kind == "literal":
        literal = validator.get("value")
        shown = json.dumps(literal) if isinstance(literal, str | bool | int | float) else "<bigint>"
        return f"v.literal({shown})"
    if kind == "array":
        return f"v.array({render_validator(validator['value'])})"
    if kind == "record":
        keys, values = render_validator(validator["keys"]), render_validator(validator["values"]["fieldType"])
        return f"v.record({keys}, {values})"
    if kind == "union":
        return "v.union(" + ", ".join(render_validator(m) for m in validator.get("value", [])) + ")"
    if kind == "object":
        fields = validator.get("value", {})
        parts = []
        for name in sorted(fields):
            shown = render_validator(fields[name]["fieldType"])
            parts.append(f"{name}: " + (f"v.optional({shown})" if fields[name].get("optional") else shown))
        return "v.object({" + ", ".join(parts) + "})"
    return json.dumps(validator)
