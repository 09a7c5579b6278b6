"""Two "machines" sharing one s3 state backend: separate processes, separate HOME and state dirs.

Each machine is a ``python -m deploycheck`` subprocess with its own HOME, XDG_STATE_HOME
and ``--state-dir``; all they share is the bucket on moto's S3 server, the ledger key
(``DEPLOYCHECK_LEDGER_KEY``, as a CI secret would be) and the sandbox's platforms.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deploycheck.sandbox import SandboxInfo
from deploycheck.sandbox.admin import AdminClient

from .conftest import EXAMPLE_SOT, REPO, S3Project, bucket_objects, write_s3_config

pytestmark = pytest.mark.sandbox
LOCK = "deploycheck/app.example.com/lock.json"
DEADLINE_S = 120


def machine(
    project: S3Project, name: str, sandbox: SandboxInfo, *args: str, config: Path | None = None, timeout: int = 5
) -> subprocess.Popen[str]:
    """Start ``deploycheck ARGS`` as machine ``name`` (its own HOME and state dir)."""
    base = {"PATH": "/usr/bin:/bin", **sandbox.environ(), "DEPLOYCHECK_HTTP_TIMEOUT": str(timeout)}
    env = project.environ(name, base)
    state_dir = project.root / name / "state-dir"
    argv = [sys.executable, "-m", "deploycheck", args[0], "--config", str(config or project.config_path)]
    argv += ["--sot", str(EXAMPLE_SOT), "--state-dir", str(state_dir), *args[1:]]
    return subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    """Wait (bounded) for a machine's command; exit code, stdout, stderr."""
    out, err = process.communicate(timeout=DEADLINE_S)
    return process.returncode, out, err


def sync(
    project: S3Project, name: str, sandbox: SandboxInfo, *extra: str, timeout: int = 5
) -> subprocess.Popen[str]:
    """Start a deploy-prod sync of the sandbox environment from machine ``name``."""
    args = ("sync-env", "--mode=deploy-prod", "--env", "sandbox", "--yes", *extra)
    return machine(project, name, sandbox, *args, timeout=timeout)


def drift_states(out: str) -> dict[str, int]:
    """The drift JSON's findings by state, plus the number of compared keys under ``compared``."""
    report = json.loads(out)
    return {"compared": report["summary"]["compared"], **report["summary"]["by_state"]}


def test_drift_from_machine_b_verifies_every_secret_synced_by_machine_a(
    s3_project: S3Project, sandbox: SandboxInfo
) -> None:
    """After machine A syncs, drift from machine B (fresh HOME and state dir) finds 0 UNVERIFIABLE, 0 drift."""
    code, out, err = finish(sync(s3_project, "machine-a", sandbox))
    assert code == 0, err
    assert "Plan: 20 to add" in out
    code, out, err = finish(machine(s3_project, "machine-b", sandbox, "drift", "--env", "sandbox", "--format", "json"))
    assert code == 0, err + out
    states = drift_states(out)
    assert states == {"compared": 20}, states  # every key in sync, none unverifiable
    assert not (s3_project.root / "machine-b" / "state-dir").exists()  # B wrote nothing locally


def test_local_backend_leaves_machine_b_unverifiable(tmp_path: Path, s3_project: S3Project, sandbox: SandboxInfo) -> None:
    """The control: with the local backend, B cannot verify A's write-only secrets (what s3 fixes)."""
    local = tmp_path / "local"
    local.mkdir()
    config = local / "deploycheck.yaml"
    config.write_text((REPO / "deploycheck.yaml").read_text())
    code, _, err = finish(sync(s3_project, "machine-a", sandbox, "--config", str(config)))
    assert code == 0, err
    process = machine(s3_project, "machine-b", sandbox, "drift", "--env", "sandbox", "--format", "json", config=config)
    code, out, err = finish(process)
    assert drift_states(out).get("unverifiable", 0) >= 4, out


def wait_for_lock(project: S3Project, process: subprocess.Popen[str]) -> dict[str, object]:
    """Wait (bounded) until ``process`` holds the bucket's lock; the lock document."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = bucket_objects(project.endpoint, project.bucket).get(LOCK)
        if found is not None:
            return dict(json.loads(found))
        assert process.poll() is None, finish(process)
        time.sleep(0.05)
    raise AssertionError("the first machine never took the lock")


def test_two_concurrent_syncs_serialize(s3_project: S3Project, sandbox: SandboxInfo, sandbox_admin: AdminClient) -> None:
    """B starts while A holds the lock and waits: A applies every change, B then finds nothing to do."""
    sandbox_admin.fault(service="cloudflare", hang=True)  # A holds the lock until the fault is cleared
    first = sync(s3_project, "machine-a", sandbox, timeout=60)
    lock = wait_for_lock(s3_project, first)
    assert lock["owner"]["user"] == "machine-a"  # type: ignore[index]
    second = sync(s3_project, "machine-b", sandbox, "--lock-timeout", "90")
    time.sleep(3)  # B starts and queues on the lock meanwhile
    assert first.poll() is None and second.poll() is None
    sandbox_admin.clear_faults()
    (code_a, out_a, err_a), (code_b, out_b, err_b) = finish(first), finish(second)
    assert (code_a, code_b) == (0, 0), err_a + err_b
    assert "Plan: 20 to add" in out_a
    assert "0 to add, 0 to change, 0 to remove, 20 unchanged" in out_b  # planned only after A finished
    audit = sorted(
        (json.loads(body) for key, body in bucket_objects(s3_project.endpoint, s3_project.bucket).items() if "/audit/" in key),
        key=lambda e: e["time"],
    )
    # each sync writes its intent before its first write and its completion after (write-ahead):
    # every event of A comes before any of B, and each finished once
    actors = [e["actor"] for e in audit]
    assert actors == sorted(actors) and set(actors) == {"machine-a", "machine-b"}
    assert [e["actor"] for e in audit if e.get("phase") != "intent"] == ["machine-a", "machine-b"]


def test_second_sync_refuses_naming_the_holder(s3_project: S3Project, sandbox: SandboxInfo, sandbox_admin: AdminClient) -> None:
    """B with a short --lock-timeout refuses (exit 1) naming A's user and purpose, and writes nothing."""
    sandbox_admin.fault(service="cloudflare", hang=True)
    first = sync(s3_project, "machine-a", sandbox, timeout=60)
    wait_for_lock(s3_project, first)
    code_b, out_b, err_b = finish(sync(s3_project, "machine-b", sandbox, "--lock-timeout", "0.5"))
    sandbox_admin.clear_faults()
    code_a, _, err_a = finish(first)
    assert code_a == 0, err_a
    assert code_b == 1, err_b
    assert "LockError" in err_b and "machine-a on" in err_b and "sync-env deploy-prod sandbox" in err_b
    assert "waited 0.5 s" in err_b and "Plan:" not in out_b


def test_sync_without_the_ledger_key_is_refused(s3_project: S3Project, sandbox: SandboxInfo, sandbox_admin: AdminClient) -> None:
    """With the s3 backend and no DEPLOYCHECK_LEDGER_KEY, sync-env exits 2 before any write."""
    s3_project.ledger_key = ""
    code, _, err = finish(sync(s3_project, "machine-a", sandbox))
    assert code == 2, err
    assert "DEPLOYCHECK_LEDGER_KEY" in err and "never stored in the bucket" in err
    assert sandbox_admin.writes() == []
    assert bucket_objects(s3_project.endpoint, s3_project.bucket) == {}


def test_drift_with_a_wrong_key_is_not_reported_as_drift(s3_project: S3Project, sandbox: SandboxInfo) -> None:
    """Drift from a machine with another ledger key exits 2 naming the key, instead of reporting drift."""
    code, _, err = finish(sync(s3_project, "machine-a", sandbox))
    assert code == 0, err
    s3_project.ledger_key = "ab" * 32
    code, out, err = finish(machine(s3_project, "machine-b", sandbox, "drift", "--env", "sandbox"))
    assert code == 2, out + err
    assert "wrong ledger key" in err and "this is not drift" in err


def test_migrate_local_state_to_s3(tmp_path: Path, s3_project: S3Project, sandbox: SandboxInfo) -> None:
    """state migrate --to s3 copies a local ledger and audit log; drift from another machine then verifies all."""
    local_dir = tmp_path / "local"
    config = write_s3_config(local_dir, s3_project.bucket, s3_project.endpoint)
    config.write_text(config.read_text().replace("backend: s3", "backend: local"))
    state_dir = s3_project.root / "machine-a" / "state-dir"
    s3_project.ledger_key = ""  # a one-person setup: the key is a file in the state dir
    code, _, err = finish(sync(s3_project, "machine-a", sandbox, "--config", str(config)))
    assert code == 0, err
    key_file = next(state_dir.glob("*.ledger.key"))
    code, out, err = finish(machine(s3_project, "machine-a", sandbox, "state", "migrate", "--to", "s3", config=config))
    assert code == 2 and "od -An -tx1" in err, out + err  # tells how to export the local key, never prints it
    s3_project.ledger_key = key_file.read_bytes().hex()
    code, out, err = finish(machine(s3_project, "machine-a", sandbox, "state", "migrate", "--to", "s3", config=config))
    assert code == 0, err
    assert "copied 20 ledger entries and 2 audit events" in out  # the sync's intent and its completion
    code, out, err = finish(machine(s3_project, "machine-b", sandbox, "drift", "--env", "sandbox", "--format", "json"))
    assert code == 0, err + out
    assert drift_states(out) == {"compared": 20}


def test_local_mode_never_touches_the_bucket(s3_project: S3Project, sandbox: SandboxInfo, tmp_path: Path) -> None:
    """sync-env --mode=local with the s3 backend writes the .env.local files and not one bucket object."""
    process = machine(s3_project, "laptop", sandbox, "sync-env", "--mode=local")
    code, out, err = finish(process)
    assert code == 0, out + err
    assert list(s3_project.root.rglob(".env.local"))
    assert bucket_objects(s3_project.endpoint, s3_project.bucket) == {}
