"""Loading the plugin imports nothing a run may not need: HTTP, schema and crypto libraries come later."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

#: libraries the plugin module must not import when pytest loads it
HEAVY = ("requests", "urllib3", "jsonschema", "nacl", "yaml", "pytest_html", "websockets")

PROBE = """
import json, sys
import pytest  # what pytest itself imports is not the plugin's doing
before = set(sys.modules)
import deploycheck.pytest_plugin
print(json.dumps(sorted({m.split(".")[0] for m in set(sys.modules) - before})))
"""


def test_plugin_import_loads_no_heavy_library() -> None:
    """Importing the plugin package (every hook and fixture module) imports none of requests, jsonschema,
    nacl, yaml, pytest-html or websockets; a check or a config load imports them when it needs them."""
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True)
    imported = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert "deploycheck" in imported, imported
    assert sorted(imported & set(HEAVY)) == []


COLLECT = """
import json, sys
import pytest
code = pytest.main(["--env=sandbox", "--collect-only", "-q", "-p", "no:cacheprovider", "--no-reports"])
print(json.dumps([int(code), sorted({m.split(".")[0] for m in sys.modules})]))
"""

#: what collecting the example project must not load: the HTTP and WebSocket clients
NETWORK = ("requests", "urllib3", "websockets")


def test_collecting_the_example_project_loads_no_http_client() -> None:
    """``pytest --collect-only`` on the example project (config, table, every platform's facts,
    every check parametrized) imports neither requests, urllib3 nor websockets: they load when a
    platform is opened, which collection never does."""
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DEPLOYCHECK_SANDBOX"))}
    done = subprocess.run(
        [sys.executable, "-c", COLLECT], check=False, cwd=root, env=env, capture_output=True, text=True,
        timeout=120,
    )
    code, imported = json.loads(done.stdout.strip().splitlines()[-1])
    assert code == 0, done.stdout[-2000:]
    assert "deploycheck" in imported
    assert sorted(set(imported) & set(NETWORK)) == []
