"""The seed-style bash baseline of the suite benchmark checks for real: a sandbox it was not synced for fails.

Behavioural, not timed (the timings are in docs/benchmarks.md, `python -m benchmarks --only suite`).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from deploycheck.sandbox import Sandbox

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "seed_baseline.sh"

pytestmark = [
    pytest.mark.sandbox,
    pytest.mark.skipif(
        not (shutil.which("curl") and shutil.which("jq") and shutil.which("bash")),
        reason="the seed-style baseline needs bash, curl and jq (apt-get install curl jq)",
    ),
]


def test_unsynced_sandbox_fails_the_baseline() -> None:
    """Against a sandbox holding only its seed, the table's keys are missing: the script says so and exits 1."""
    with Sandbox(port=0) as info:
        env = {
            "PATH": "/usr/bin:/bin",
            **info.environ(),
            "SOT": str(REPO / "fixtures" / "example" / "app.env"),
        }
        done = subprocess.run(
            ["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120, check=False
        )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "❌ CONVEX holds every key of the table" in done.stdout
    assert "✅ Worker health check: healthy" in done.stdout  # the checks that hold still pass
    failed = int(done.stdout.rsplit("Failed: ", 1)[1].split()[0])
    assert failed >= 1
