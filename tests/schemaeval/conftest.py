"""Fixtures of the Node evaluation tests: the pinned convex/esbuild install and a git app using it.

The ``schemaeval`` tox env installs the pinned npm packages and names their folder in
``DEPLOYCHECK_SCHEMAEVAL_NODE_MODULES``; with ``DEPLOYCHECK_REQUIRE_SCHEMAEVAL=1`` (set by
that env) a missing toolchain fails the tests instead of skipping them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from deploycheck.rollback.schema import NodeToolchain


@pytest.fixture(scope="session")
def toolchain() -> NodeToolchain:
    """Node and the node_modules holding the pinned convex, convex-helpers, @convex-dev/auth and esbuild."""
    modules = os.environ.get("DEPLOYCHECK_SCHEMAEVAL_NODE_MODULES", "")
    node = shutil.which("node")
    ok = node and modules and (Path(modules) / "convex" / "package.json").is_file()
    if not ok:
        why = "Node and DEPLOYCHECK_SCHEMAEVAL_NODE_MODULES with convex are needed (tox -e schemaeval)"
        if os.environ.get("DEPLOYCHECK_REQUIRE_SCHEMAEVAL") == "1":
            pytest.fail(why)
        pytest.skip(why)
    assert node is not None
    return NodeToolchain(node, Path(modules).resolve())
