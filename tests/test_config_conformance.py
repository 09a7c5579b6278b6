"""The fast schema check of deploycheck.yaml agrees with jsonschema, and a valid config loads without it."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deploycheck.config.conformance import conforms
from deploycheck.config.problems import schema

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = yaml.safe_load((REPO / "deploycheck.yaml").read_text())
VALIDATOR = jsonschema.Draft202012Validator(schema())

#: values a mutation may put anywhere: every JSON type, the schema's enum values, near-misses
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=70000),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-10, max_value=10),
    st.sampled_from([1.0, 0, 1, True, "", "s3", "local", "dev", "prod", "warn", "GET", "POST",
                     "cloudflare-pages", "convex", "github-actions", "NOT A NAME", "APP_URL", "x" * 3]),
    st.text(max_size=6),
)  # fmt: skip
VALUES = st.recursive(
    LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(["url", "script", "backend", "bucket", "steps", "name", "x", "1"]),
                        children, max_size=3),
    ),
    max_leaves=6,
)  # fmt: skip


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


PATHS = _paths(EXAMPLE)


def _mutate(data: Any, path: tuple[Any, ...], how: str, value: Any) -> Any:
    data = copy.deepcopy(data)
    if not path:
        return value if how == "replace" else data
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if how == "replace":
        parent[last] = value
    elif how == "delete":
        del parent[last]
    elif isinstance(parent, dict):
        parent[f"{last}_extra" if isinstance(last, str) else "extra"] = value
    else:
        parent.append(value)
    return data


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.sampled_from(PATHS), st.sampled_from(["replace", "delete", "add"]), VALUES),
        min_size=1,
        max_size=3,
    )
)
def test_fast_check_agrees_with_jsonschema(mutations: list[tuple[tuple[Any, ...], str, Any]]) -> None:
    """For the example config with up to three random edits anywhere, ``conforms`` says valid exactly when
    jsonschema (Draft 2020-12) does."""
    data: Any = EXAMPLE
    for path, how, value in mutations:
        try:
            data = _mutate(data, path, how, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed this path
    assert conforms(data, schema()) == VALIDATOR.is_valid(data), json.dumps(data, default=str)[:400]


def test_the_example_config_conforms() -> None:
    """The repository's deploycheck.yaml is valid by both checks."""
    assert VALIDATOR.is_valid(EXAMPLE)
    assert conforms(EXAMPLE, schema())


def test_a_keyword_it_does_not_judge_defers_to_jsonschema() -> None:
    """A schema with a keyword outside the supported set is never judged valid here (jsonschema decides)."""
    assert not conforms({"a": "x"}, {"type": "object", "dependentRequired": {"a": ["b"]}})
    assert not conforms("x", {"$ref": "https://example.com/schema.json"})
    assert conforms({"a": 1}, {"type": "object", "properties": {"a": {"type": "integer"}}})


def test_state_backend_rule() -> None:
    """``if``/``then``: an s3 state backend needs a bucket; a local one does not (both checks agree)."""
    for state in ({"backend": "s3"}, {"backend": "s3", "bucket": "b"}, {"backend": "local"}):
        data = {**EXAMPLE, "state": state}
        assert conforms(data, schema()) == VALIDATOR.is_valid(data), state


PROBE = """
import json, sys
from deploycheck.config import load_config
config = load_config(sys.argv[1])
print(json.dumps({"targets": len(config.targets), "jsonschema": "jsonschema" in sys.modules}))
"""


def test_a_valid_config_loads_without_jsonschema(tmp_path: Path) -> None:
    """Loading a valid deploycheck.yaml never imports jsonschema; a broken one still gets its explained problems."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(REPO / "deploycheck.yaml")], capture_output=True, text=True,
        timeout=60, check=True,
    )  # fmt: skip
    assert json.loads(done.stdout) == {"targets": len(EXAMPLE["targets"]), "jsonschema": False}
    broken = tmp_path / "deploycheck.yaml"
    broken.write_text((REPO / "deploycheck.yaml").read_text().replace("default_env: development", "default_env: 3"))
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(broken)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode != 0
    assert "default_env" in done.stderr, done.stderr
