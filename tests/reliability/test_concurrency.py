"""Concurrency: two syncs of one project at once, and verification under xdist against a serial run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import CONFIG, REPO, expected_prod, holds, ledger_truth

pytestmark = pytest.mark.sandbox
SYNC = [
    "-m",
    "deploycheck",
    "sync-env",
    "--mode=deploy-prod",
    "--env",
    "sandbox",
    "--yes",
    "--config",
    str(CONFIG),
]


def tag(request: pytest.FixtureRequest, row: str) -> None:
    """Count this test in the "concurrency" table."""
    request.node.user_properties.append(("reliability-cell", f"concurrency|{row}|result"))


def start_two(extra: list[str]) -> list[subprocess.CompletedProcess[str]]:
    """Start two identical syncs together and wait for both (bounded)."""
    procs = [
        subprocess.Popen(
            [sys.executable, *SYNC, *extra],
            cwd=REPO,
            env=dict(os.environ),
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


def test_two_syncs_at_once_serialize_and_converge(workspace, admin, request) -> None:  # type: ignore[no-untyped-def]
    """The second sync waits for the lock, then finds nothing to do: both exit 0, every write happens once."""
    tag(request, "2 syncs, waiting: both 0, writes once")
    admin.fault(service="github", method="GET", latency_ms=700)
    runs = start_two(["--lock-timeout", "30"])
    admin.clear_faults()
    assert [r.returncode for r in runs] == [0, 0], [r.stderr for r in runs]
    assert holds(admin.state(), workspace.sot) == expected_prod(workspace.sot)
    writes = [(w["method"], w["path"]) for w in admin.writes()]
    assert len(writes) == len(set(writes)), "a write was sent twice"
    assert sum("Plan: 0 to add, 0 to change, 0 to remove" in r.stdout for r in runs) == 1
    assert ledger_truth(workspace, admin.state()) == []
    audit = (workspace.state / "app.example.com.audit.jsonl").read_text().splitlines()
    ends = [json.loads(line) for line in audit if json.loads(line).get("phase") != "intent"]
    assert [e["result"] for e in ends] == ["ok", "ok"]
    assert len(audit) == 3  # one intent line: only the first sync wrote


def test_second_sync_refuses_cleanly_when_the_lock_is_held(workspace, admin, request) -> None:  # type: ignore[no-untyped-def]
    """With a short lock timeout one sync applies, the other exits 1 with a LockError naming the lock."""
    tag(request, "2 syncs, short timeout: one LockError")
    admin.fault(service="github", method="GET", latency_ms=800)
    runs = start_two(["--lock-timeout", "0.2"])
    admin.clear_faults()
    codes = sorted(r.returncode for r in runs)
    assert codes == [0, 1], [r.stderr for r in runs]
    refused = next(r for r in runs if r.returncode == 1)
    assert "LockError: another deploycheck run of project app.example.com holds the lock" in refused.stderr
    assert "--lock-timeout" in refused.stderr and "Traceback" not in refused.stderr
    assert holds(admin.state(), workspace.sot) == expected_prod(workspace.sot)
    assert ledger_truth(workspace, admin.state()) == []
    audit = (workspace.state / "app.example.com.audit.jsonl").read_text().splitlines()
    assert [json.loads(line)["phase"] for line in audit] == ["intent", "completed"]


def outcomes(report_dir: Path) -> dict[str, str]:
    """Outcome per check id from a run's results.json."""
    data: dict[str, Any] = json.loads((report_dir / "results.json").read_text())
    return {c["id"]: c["outcome"] for c in data["checks"]}


def test_verification_under_xdist_matches_a_serial_run(tmp_path, request) -> None:  # type: ignore[no-untyped-def]
    """`pytest --env=sandbox -n 2` gives each check the same outcome as a serial run.

    ``--report-dir=DIR`` is one token: given as two (``--report-dir DIR``), the workers,
    started once DIR exists, take DIR for a path argument and their rootdir, lose
    ``testpaths`` and collect the whole repository (this suite included).
    """
    tag(request, "verify -n 2 == serial")
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "DEPLOYCHECK_", "CLOUDFLARE_", "GITHUB_", "CONVEX_"))
    }
    environ.pop("APP_URL", None)
    environ.pop("WORKER_URL", None)
    results = {}
    for name, extra in (("serial", ["-p", "no:xdist"]), ("xdist", ["-n", "2"])):
        folder = tmp_path / name
        argv = [
            sys.executable,
            "-m",
            "pytest",
            "--env=sandbox",
            "-p",
            "no:cacheprovider",
            "-q",
            f"--report-dir={folder}",
            *extra,
        ]
        try:
            done = subprocess.run(
                argv, cwd=REPO, env=environ, capture_output=True, text=True, timeout=120, check=False
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"the {name} verification run did not finish in 120 s: {str(exc.stdout)[-1500:]}")
        assert (folder / "results.json").is_file(), done.stdout[-3000:] + done.stderr[-2000:]
        results[name] = outcomes(folder)
    assert results["serial"], "no checks ran"
    assert all(check.startswith("checks/") for check in results["xdist"])
    assert results["xdist"] == results["serial"]
