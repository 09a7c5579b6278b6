"""Run one of deploycheck's packaged Node.js scripts (``deploycheck/data/*.mjs``) for an emulator.

The sandbox does with Node what the vendor does with its own runtime: Convex analyzes pushed
modules (``convex_analyze.mjs``), the Convex CLI bundles ``schema.ts`` (``schema_eval.mjs``).
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from importlib import resources

__all__ = ["run_node_script"]


def run_node_script(
    node: str,
    script: str,
    args: Sequence[str],
    *,
    cwd: str,
    timeout: float,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str] | None:
    """Run ``data/<script>`` under ``node`` in ``cwd`` with ``args``, its output captured as text.

    ``env`` replaces the environment when given. Returns the finished process (whatever its
    exit code), or None when it ran longer than ``timeout`` seconds (it is killed).
    """
    with resources.as_file(resources.files("deploycheck") / "data" / script) as path:
        try:
            return subprocess.run(
                [node, str(path), *args],
                capture_output=True,
                text=True,
                timeout=timeout,
                env=None if env is None else dict(env),
                cwd=cwd,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return None
