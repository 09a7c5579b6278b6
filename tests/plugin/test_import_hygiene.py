"""Loading the plugin imports nothing a run may not need: HTTP, schema and crypto libraries come later."""

from __future__ import annotations

import json
import subprocess
import sys

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
