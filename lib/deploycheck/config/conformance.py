"""A fast yes/no check of deploycheck.yaml against its JSON Schema, without the jsonschema library.

Loading a config is on the start-up path of every run, and importing ``jsonschema`` (with
``referencing``, ``rpds``, ``attrs`` and its format checkers) costs more than the rest of
loading. :func:`conforms` decides validity by the JSON Schema 2020-12 rules of the keywords
deploycheck's schema uses (``type``, ``properties``, ``additionalProperties``, ``required``,
``enum``, ``const``, ``items``, ``minItems``, ``minLength``, ``minProperties``, ``minimum``,
``maximum``, ``pattern``, ``propertyNames``, ``oneOf``, ``if``/``then``/``else`` and local
``$ref``). A schema using any other keyword is not judged here (False), so the caller falls
back to jsonschema; so does any invalid document, since only jsonschema explains the problems.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

__all__ = ["conforms"]

#: keywords that only annotate (never change validity)
ANNOTATIONS = frozenset(
    {"$schema", "$id", "$comment", "title", "description", "default", "examples", "deprecated", "$defs"}
)
#: keywords judged here; any other makes :func:`conforms` give up (False)
KEYWORDS = frozenset(
    {
        "$ref", "type", "properties", "additionalProperties", "required", "enum", "const", "items",
        "minItems", "minLength", "minProperties", "minimum", "maximum", "pattern", "propertyNames",
        "oneOf", "if", "then", "else",
    }
)  # fmt: skip


class _Unsupported(Exception):
    """The schema uses a keyword this module does not judge."""


def conforms(instance: Any, schema: Mapping[str, Any]) -> bool:
    """True when ``instance`` is valid against ``schema``; False when it is not or cannot be told here."""
    try:
        return _valid(instance, schema, schema)
    except _Unsupported:
        return False


@cache
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _has_type(value: Any, name: str) -> bool:  # noqa: PLR0911 - one answer per JSON type
    if name == "string":
        return isinstance(value, str)
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if name == "number":
        return _is_number(value)
    if name == "integer":
        return _is_number(value) and (isinstance(value, int) or float(value).is_integer())
    raise _Unsupported(name)


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: booleans are not numbers, 1 equals 1.0, containers compare member by member."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and bool(a == b)


def _resolve(ref: str, root: Mapping[str, Any]) -> Any:
    if not ref.startswith("#/"):
        raise _Unsupported(ref)
    node: Any = root
    for escaped in ref[2:].split("/"):
        part = escaped.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, Mapping) or part not in node:
            raise _Unsupported(ref)
        node = node[part]
    return node


def _valid(instance: Any, schema: Any, root: Mapping[str, Any]) -> bool:  # noqa: PLR0911, PLR0912 - one rule per keyword
    if schema is True:
        return True
    if schema is False:
        return False
    if not isinstance(schema, Mapping):
        raise _Unsupported(repr(schema))
    unknown = set(schema) - KEYWORDS - ANNOTATIONS
    if unknown:
        raise _Unsupported(", ".join(sorted(unknown)))
    if "$ref" in schema and not _valid(instance, _resolve(schema["$ref"], root), root):
        return False
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_has_type(instance, name) for name in names):
            return False
    if "enum" in schema and not any(_equal(instance, option) for option in schema["enum"]):
        return False
    if "const" in schema and not _equal(instance, schema["const"]):
        return False
    if isinstance(instance, dict) and not _valid_object(instance, schema, root):
        return False
    if isinstance(instance, list):
        if len(instance) < schema.get("minItems", 0):
            return False
        if "items" in schema and not all(_valid(item, schema["items"], root) for item in instance):
            return False
    if isinstance(instance, str):
        if len(instance) < schema.get("minLength", 0):
            return False
        if "pattern" in schema and _pattern(schema["pattern"]).search(instance) is None:
            return False
    if _is_number(instance):
        if "minimum" in schema and instance < schema["minimum"]:
            return False
        if "maximum" in schema and instance > schema["maximum"]:
            return False
    if "oneOf" in schema and sum(_valid(instance, option, root) for option in schema["oneOf"]) != 1:
        return False
    if "if" in schema:
        branch = "then" if _valid(instance, schema["if"], root) else "else"
        if branch in schema and not _valid(instance, schema[branch], root):
            return False
    return True


def _valid_object(instance: dict[Any, Any], schema: Mapping[str, Any], root: Mapping[str, Any]) -> bool:
    properties = schema.get("properties", {})
    if any(name not in instance for name in schema.get("required", ())):
        return False
    if len(instance) < schema.get("minProperties", 0):
        return False
    for key, value in instance.items():
        if key in properties:
            if not _valid(value, properties[key], root):
                return False
        elif "additionalProperties" in schema and not _valid(value, schema["additionalProperties"], root):
            return False
    names = schema.get("propertyNames")
    return names is None or all(_valid(key, names, root) for key in instance)
