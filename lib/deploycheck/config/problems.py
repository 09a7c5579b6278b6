"""The problems of a ``deploycheck.yaml``: each with its line, key path and next step.

Where each key path is written (:func:`node_lines`), keys written twice, unknown names
with the valid choices and the closest match, JSON Schema violations, and names that
refer to nothing. :func:`deploycheck.config.model.load_config` gathers them all before raising.
"""

from __future__ import annotations

import difflib
import json
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from deploycheck.errors import Problem
from deploycheck.platforms import BUILTIN, get_spec, platform_names

if TYPE_CHECKING:
    import yaml

__all__ = [
    "CONFIG_NAME",
    "duplicate_keys",
    "node_lines",
    "parse_yaml",
    "schema",
    "schema_problems",
    "semantic_problems",
    "unknown_name",
]

#: the file these problems are found in (re-exported by :mod:`deploycheck.config.model`)
CONFIG_NAME = "deploycheck.yaml"


@cache
def schema() -> dict[str, Any]:
    """The JSON Schema of deploycheck.yaml shipped with the package."""
    text = resources.files("deploycheck").joinpath("data/deploycheck.schema.json").read_text("utf-8")
    result: dict[str, Any] = json.loads(text)
    # the platform names are the registry's, not a list written here
    result["$defs"]["target"]["properties"]["platform"]["enum"] = list(platform_names())
    # parameters of platforms added by other packages (the built-in ones are in the file)
    params = result["$defs"]["target_env"]["properties"]
    for name in platform_names():
        if name not in BUILTIN:
            for key, fragment in get_spec(name).params.items():
                params.setdefault(key, dict(fragment))
    return result


def parse_yaml(text: str, loader: type[yaml.SafeLoader] | None = None) -> tuple[yaml.Node | None, Any]:
    """Parse ``text`` once: its node tree (where each key is written) and the data built from that tree.

    ``loader`` defaults to libyaml's ``CSafeLoader`` where PyYAML was built with it (its wheels
    are), else ``SafeLoader``; raises ``yaml.YAMLError`` for text that is not YAML.
    """
    import yaml

    chosen: Any = loader or getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    parser = chosen(text)
    try:
        node = parser.get_single_node()
        return node, (parser.construct_document(node) if node is not None else None)
    finally:
        parser.dispose()


def node_lines(node: yaml.Node, prefix: str, out: dict[str, int]) -> None:
    """Record in ``out`` the line of every key path (``a.b[0].c``) under ``node``."""
    import yaml

    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(key_node.value)
            path = f"{prefix}.{key}" if prefix else key
            out[path] = key_node.start_mark.line + 1
            node_lines(value_node, path, out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            path = f"{prefix}[{index}]"
            out[path] = item.start_mark.line + 1
            node_lines(item, path, out)


def duplicate_keys(node: yaml.Node, prefix: str, source: str) -> list[Problem]:
    """Keys written twice in one mapping: YAML would silently keep the last one."""
    import yaml

    problems: list[Problem] = []
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            path = f"{prefix}.{key}" if prefix else key
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append(
                    Problem(
                        source=source,
                        line=line,
                        path=path,
                        message=f"{key!r} is written twice (first at line {seen[key]}); YAML keeps the last.",
                        hint="Keep one of them.",
                    )
                )
            seen.setdefault(key, line)
            problems += duplicate_keys(value_node, path, source)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            problems += duplicate_keys(item, f"{prefix}[{index}]", source)
    return problems


def unknown_name(source: str, line: int | None, path: str, name: str, valid: Any) -> Problem:
    """The problem of a name not among ``valid``, listing the valid ones and the closest match."""
    choices = sorted(valid)
    close = (
        difflib.get_close_matches(name, choices, n=1)
        or [c for c in choices if name and c.lower().startswith(name.lower())][:1]
    )
    hint = f"did you mean {close[0]!r}? " if close else ""
    return Problem(
        source=source,
        line=line,
        path=path,
        message=f"unknown name {name!r}; valid: {', '.join(choices) or '(none configured)'}.",
        hint=f"{hint}Use one of the valid names or add it to {CONFIG_NAME}.".strip(),
    )


def _missing_key(error: Any) -> str:
    """The property a ``required`` error says is missing."""
    return str(error.message).split("'")[1] if "'" in str(error.message) else ""


def _misspelt_keys(errors: list[Any]) -> dict[str, set[str]]:
    """Path -> the allowed keys an unknown key there is a close misspelling of."""
    found: dict[str, set[str]] = {}
    for error in errors:
        if error.validator != "additionalProperties":
            continue
        parts = [str(p) if not isinstance(p, int) else f"[{p}]" for p in error.absolute_path]
        path = ".".join(parts).replace(".[", "[")
        allowed = sorted(error.schema.get("properties", {}))
        for extra in error.instance:
            if extra not in allowed:
                found.setdefault(path, set()).update(difflib.get_close_matches(str(extra), allowed, n=1))
    return found


def missing_sections(problems: list[Problem]) -> bool:
    """True when a top-level section is missing or misspelt: checks across sections would only cascade."""
    return any(not p.path or p.path == "(top level)" or "." not in p.path for p in problems)


def schema_problems(data: Any, source: str, lines: dict[str, int]) -> list[Problem]:
    """Every way ``data`` breaks the JSON Schema, each at its line with the valid choices."""
    from deploycheck.config.conformance import conforms

    if conforms(data, schema()):
        return []  # valid: no need to load jsonschema, which only explains what is wrong
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    problems = []
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    misspelt = _misspelt_keys(errors)
    for error in errors:
        parts = [str(p) if not isinstance(p, int) else f"[{p}]" for p in error.absolute_path]
        path = ".".join(parts).replace(".[", "[")
        line = lines.get(path)
        if error.validator == "required" and _missing_key(error) in misspelt.get(path, ()):
            continue  # the misspelt key is the problem: reported once, as an unknown name
        if error.validator == "additionalProperties":
            extras = [k for k in error.instance if k not in error.schema.get("properties", {})]
            allowed = sorted(error.schema.get("properties", {}))
            for extra in extras:
                key_path = f"{path}.{extra}" if path else extra
                problems.append(unknown_name(source, lines.get(key_path, line), key_path, extra, allowed))
            continue
        if error.validator == "enum":
            message = (
                f"{error.instance!r} is not allowed; valid: {', '.join(map(str, error.validator_value))}."
            )
            close = difflib.get_close_matches(
                str(error.instance), [str(v) for v in error.validator_value], n=1
            )
            hint = f"did you mean {close[0]!r}?" if close else "Use one of the valid values."
        elif error.validator == "type":
            message = (
                f"expected {error.validator_value}, got {type(error.instance).__name__} {error.instance!r}."
            )
            hint = "Fix the value's type."
        elif error.validator == "required":
            message = error.message + "."
            hint = "Add the missing key."
        else:
            message = error.message + "."
            hint = "See deploycheck/data/deploycheck.schema.json for the expected shape."
        problems.append(
            Problem(source=source, line=line, path=path or "(top level)", message=message, hint=hint)
        )
    return problems


def semantic_problems(data: dict[str, Any], source: str, lines: dict[str, int]) -> list[Problem]:
    """Names that refer to nothing: default_env, target environments, check targets."""
    problems: list[Problem] = []
    envs = data.get("environments") or {}
    targets = data.get("targets") or {}
    default_env = data.get("default_env")
    if isinstance(default_env, str) and isinstance(envs, dict) and default_env not in envs:
        problems.append(unknown_name(source, lines.get("default_env"), "default_env", default_env, envs))
    if isinstance(targets, dict) and isinstance(envs, dict):
        for tname, target in targets.items():
            if not isinstance(target, dict):
                continue
            for ename in target.get("environments") or {}:
                path = f"targets.{tname}.environments.{ename}"
                if ename not in envs:
                    problems.append(unknown_name(source, lines.get(path), path, ename, envs))
    checks = data.get("checks") or {}
    if isinstance(checks, dict) and isinstance(targets, dict):
        for section in ("pages", "worker", "convex"):
            tname = (
                (checks.get(section) or {}).get("target") if isinstance(checks.get(section), dict) else None
            )
            path = f"checks.{section}.target"
            if isinstance(tname, str) and tname not in targets:
                problems.append(unknown_name(source, lines.get(path), path, tname, targets))
    return problems
