"""Crash consistency: a sync interrupted by Ctrl-C or killed leaves state the next run understands.

The sync runs as a real process. GitHub's secret writes hang in the sandbox while the other
targets finish; then the process gets SIGINT (Ctrl-C) or SIGKILL. The audit log must hold
the intent line written before the first write, and (for Ctrl-C) an interruption line
listing what was applied; the ledger must record exactly the writes that landed and were
confirmed; the next sync must converge and drift must then pass.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

from deploycheck.sandbox.admin import AdminClient

from .conftest import CONFIG, REPO, Workspace, check_state_files, expected_prod, holds, ledger_truth

pytestmark = pytest.mark.sandbox
SYNC = ["sync-env", "--mode=deploy-prod", "--env", "sandbox", "--yes"]
#: the targets whose batches finish before the signal (GitHub's writes hang)
FINISHED = {"NEXTJS", "CONVEX", "CLOUDFLARE_WORKER"}


def tag(request: pytest.FixtureRequest, row: str) -> None:
    """Count this test in the "crash consistency" table."""
    request.node.user_properties.append(("reliability-cell", f"crash consistency|{row}|sync-env"))


def start_sync(ws: Workspace) -> subprocess.Popen[str]:
    """Start ``deploycheck sync-env`` as a process with patient HTTP bounds (the hang must last)."""
    env = {**os.environ, "DEPLOYCHECK_HTTP_TIMEOUT": "30", "DEPLOYCHECK_HTTP_BUDGET": "60"}
    return subprocess.Popen(
        [sys.executable, "-m", "deploycheck", *SYNC, "--config", str(CONFIG)],
        cwd=REPO,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def ledger(ws: Workspace) -> dict[str, Any]:
    """The saved ledger ({} before the first save)."""
    files = list(ws.state.glob("*.ledger.json"))
    return json.loads(files[0].read_text()) if files else {}


def wait_for_batches(ws: Workspace, proc: subprocess.Popen[str], admin: AdminClient) -> None:
    """Wait (bounded) until the finished targets are in the saved ledger and a GitHub write hangs."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        recorded = set(ledger(ws).get("entries", {}).get("sandbox", {}))
        github_puts = [r for r in admin.requests("github") if r["method"] == "PUT"]
        if recorded >= FINISHED and github_puts and proc.poll() is None:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    proc.kill()
    pytest.fail(f"the batches did not finish in time: {proc.communicate()}")


def audit(ws: Workspace) -> list[dict[str, Any]]:
    """Every audit line."""
    return [json.loads(line) for line in next(ws.state.glob("*.audit.jsonl")).read_text().splitlines()]


def test_ctrl_c_records_the_applied_batches(
    request: pytest.FixtureRequest, workspace: Workspace, admin: AdminClient
) -> None:
    """SIGINT mid-sync: exit 130, an intent line then an interruption line listing the applied keys,
    the ledger records the finished batches truthfully, and no temporary file is left."""
    tag(request, "Ctrl-C during sync")
    admin.fault(service="github", method="PUT", path=r"/secrets/", hang=True)
    proc = start_sync(workspace)
    wait_for_batches(workspace, proc, admin)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.5)
    admin.clear_faults()  # the writes in flight end; the interrupted run waits for them
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    lines = audit(workspace)
    assert [line["phase"] for line in lines] == ["intent", "interrupted"]
    assert lines[0]["run_id"] == lines[1]["run_id"]
    assert set(lines[0]["writes"]) >= FINISHED
    applied = {t for t, keys in lines[1]["applied"].items() if keys}
    assert applied >= FINISHED
    assert ledger_truth(workspace, admin.state()) == []
    assert check_state_files({}, workspace.files()) == []


def test_kill_9_leaves_state_the_next_run_understands(
    request: pytest.FixtureRequest, workspace: Workspace, admin: AdminClient, run_cli: Any
) -> None:
    """SIGKILL mid-sync leaves the intent line and a truthful ledger; the next sync warns about the
    unfinished run, converges, and drift passes."""
    tag(request, "kill -9 during sync")
    admin.fault(service="github", method="PUT", path=r"/secrets/", hang=True)
    proc = start_sync(workspace)
    wait_for_batches(workspace, proc, admin)
    proc.kill()
    proc.communicate(timeout=30)
    admin.clear_faults()
    lines = audit(workspace)
    assert [line["phase"] for line in lines] == ["intent"]
    assert ledger_truth(workspace, admin.state()) == []
    assert check_state_files({}, workspace.files()) == []

    rerun = run_cli(SYNC)
    assert rerun.code == 0, rerun.text
    assert "ended without a completion record" in rerun.err
    assert holds(admin.state(), workspace.sot) == expected_prod(workspace.sot)
    assert run_cli(["drift", "--env", "sandbox"]).code == 0
    again = run_cli(SYNC)
    assert "ended without a completion record" not in again.err
