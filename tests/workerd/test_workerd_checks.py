"""deploycheck's own Worker checks, run as a separate pytest, against the Worker under workerd."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import RunningWorker

pytestmark = pytest.mark.requires_wrangler

REPO = Path(__file__).resolve().parents[2]
WORKER_CHECKS = REPO / "checks" / "test_worker.py"


def test_worker_health_checks_pass(full_worker: RunningWorker) -> None:
    """`pytest checks --platform=cloudflare-worker -k health` passes against the healthy Worker under workerd."""
    if not WORKER_CHECKS.is_file():
        pytest.skip(f"{WORKER_CHECKS.relative_to(REPO)} does not exist yet: no Worker checks to run")
    # the child is its own pytest session: drop this session's xdist and current-test variables
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["WORKER_URL"] = full_worker.url
    command = [
        sys.executable, "-m", "pytest", "checks", "-p", "no:cacheprovider",
        "--env=development", "--platform=cloudflare-worker", "-k", "health", "--no-reports",
    ]  # fmt: skip
    result = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert re.search(r"\b[1-9]\d* passed", output), output
