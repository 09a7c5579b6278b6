"""`deploycheck deploy --gradual` against the sandbox: real `wrangler versions upload`, real splits.

Each test writes a copy of deploycheck.yaml (absolute paths, short soak times) into its
temporary folder, so the rollout is quick: soak and gate intervals of a fraction of a second,
five probes per version per round. The sandbox splits by a golden-ratio sequence, so the share
of traffic a version serves is exact within a couple of requests.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from deploycheck.cli import main
from deploycheck.config import load_config
from deploycheck.platforms import open_target
from deploycheck.sandbox import SandboxInfo
from deploycheck.sandbox.admin import AdminClient

pytestmark = [pytest.mark.sandbox, pytest.mark.slow, pytest.mark.usefixtures("wrangler")]

ROOT = Path(__file__).resolve().parents[2]
WORKER_DIR = ROOT / "fixtures" / "example" / "worker"
#: threads of user traffic, and the most unpinned /health requests each sends in one test
USERS = 4
USER_REQUESTS = 400
#: seconds between one user's requests (the traffic must last through the split, not end before it)
USER_PAUSE_S = 0.02
#: unpinned requests the split must have served before the fault, so its share is measurable
USERS_BEFORE_FAULT = 60
#: seconds the new version serves healthily at 10 % before the test makes it unhealthy
HEALTHY_FOR_S = 1.5
#: points above the step's percentage the bad version's share of user traffic may reach
TOLERANCE = 5.0
#: seconds a test waits at most for a rollout to reach a split
SPLIT_WAIT_S = 60.0


def worker_copy(tmp_path: Path, state_version: int | None = None) -> Path:
    """A copy of the example Worker with ``keep_vars = true`` (so `versions upload` keeps the synced
    vars, as `deploy --keep-vars` does), optionally expecting another Durable Object state version."""
    copy = tmp_path / "worker"
    shutil.copytree(WORKER_DIR, copy, ignore=shutil.ignore_patterns("node_modules"))
    (copy / "node_modules").symlink_to(WORKER_DIR / "node_modules", target_is_directory=True)
    toml = copy / "wrangler.toml"
    toml.write_text("keep_vars = true\n" + toml.read_text())
    if state_version is not None:
        source = copy / "src" / "index.js"
        text = source.read_text().replace("EXPECTED_STATE_VERSION = 2", f"EXPECTED_STATE_VERSION = {state_version}")
        source.write_text(text)
    return copy


def write_config(tmp_path: Path, worker_dir: Path | None = None, **gradual: Any) -> Path:
    """deploycheck.yaml of the repository with absolute paths and ``deploy.gradual.CLOUDFLARE_WORKER``."""
    data = yaml.safe_load((ROOT / "deploycheck.yaml").read_text())
    data["environments"]["sandbox"]["sot"] = str(ROOT / "fixtures" / "example" / "app.env")
    for target in data["targets"].values():
        params = target["environments"].get("sandbox") or {}
        if "deploy_cwd" in params:
            params["deploy_cwd"] = str(ROOT / params["deploy_cwd"])
    folder = worker_dir or (tmp_path / "worker" if (tmp_path / "worker").is_dir() else worker_copy(tmp_path))
    data["targets"]["CLOUDFLARE_WORKER"]["environments"]["sandbox"]["deploy_cwd"] = str(folder)
    data["checks"]["dir"] = str(ROOT / "checks")
    settings = {"soak_s": 0.3, "interval_s": 0.2, "probes": 5, "verify": False, "tolerance": TOLERANCE}
    settings.update(gradual)
    data["deploy"]["gradual"] = {"CLOUDFLARE_WORKER": settings}
    path = tmp_path / "deploycheck.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def worker(config: Path) -> Any:
    """The deploycheck adapter of the sandbox's log-ingestion Worker."""
    loaded = load_config(config)
    return open_target(loaded, loaded.targets["CLOUDFLARE_WORKER"], "sandbox")


def rollout_events(state: Path) -> list[dict[str, Any]]:
    """The ``deploy-gradual`` events of the audit log in ``state``."""
    lines = (state / "app.example.com.audit.jsonl").read_text().splitlines()
    return [e for e in map(json.loads, lines) if e.get("operation") == "deploy-gradual"]


def deploy_args(config: Path, state: Path, tmp_path: Path, *extra: str) -> list[str]:
    """`deploy --env sandbox --yes --platform worker` with the test's config, state and reports."""
    return ["deploy", "--config", str(config), "--env", "sandbox", "--yes", "--platform", "worker",
            "--allow-drift", "--state-dir", str(state), "--report-dir", str(tmp_path / "reports"), *extra]


def start_cli(args: list[str], environ: dict[str, str]) -> subprocess.Popen[str]:
    """`python -m deploycheck ARGS` in its own process group, output captured."""
    return subprocess.Popen(
        [sys.executable, "-m", "deploycheck", *args], cwd=ROOT, env={**os.environ, **environ},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip


def wait_for_split(adapter: Any, process: subprocess.Popen[str]) -> tuple[tuple[str, float], ...]:
    """The versions of the first split deployment the rollout creates (fails if it ends first)."""
    deadline = time.monotonic() + SPLIT_WAIT_S
    while time.monotonic() < deadline:
        active = next(d for d in adapter.list_deployments() if d.active)
        if len(active.versions) == 2:
            return active.versions
        assert process.poll() is None, process.communicate()[0]
        time.sleep(0.05)
    raise AssertionError("the rollout made no split in time")


def sync(config: Path, state: Path) -> None:
    """`sync-env --mode=deploy-prod` of the sandbox with the test's config, so gate and checks pass."""
    args = ["sync-env", "--config", str(config), "--mode=deploy-prod", "--env", "sandbox", "--yes"]
    assert main([*args, "--state-dir", str(state)]) == 0


@pytest.fixture
def user_traffic(sandbox: SandboxInfo) -> Iterator[threading.Event]:
    """Unpinned /health requests from USERS threads (at most USER_REQUESTS each) until the event is set."""
    stop = threading.Event()

    def send() -> None:
        with requests.Session() as session:
            for _ in range(USER_REQUESTS):
                if stop.wait(USER_PAUSE_S):
                    return
                session.get(f"{sandbox.worker_url}/health", timeout=5)

    threads = [threading.Thread(target=send, daemon=True) for _ in range(USERS)]
    for thread in threads:
        thread.start()
    yield stop
    stop.set()
    for thread in threads:
        thread.join(timeout=10)


def test_a_healthy_gradual_deploy_ends_at_100_percent_with_every_gate_passed_and_recorded(
    sandbox_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """10 -> 50 -> 100 %: each step's deployment, gates (the Worker checks included) and the end are
    audited; the new version serves 100 %, and the final checks ran with --expect-worker-version."""
    config = write_config(tmp_path, verify=True)
    adapter = worker(config)
    state = tmp_path / "state"
    sync(config, state)
    old = adapter.active_version()

    code = main(deploy_args(config, state, tmp_path))

    output = capsys.readouterr().out
    assert code == 0, output
    new = adapter.active_version()
    assert new != old and next(d for d in adapter.list_deployments() if d.active).versions == ((new, 100.0),)
    events = rollout_events(state)
    assert [e["phase"] for e in events] == ["start", "step", "gate", "step", "gate", "step", "gate", "done"]
    assert {(e["old_version"], e["new_version"]) for e in events} == {(old, new)}
    gates = [e for e in events if e["phase"] == "gate"]
    assert [g["percent"] for g in gates] == [10, 50, 100] and all(g["passed"] for g in gates)
    names = [[c["gate"] for c in g["gates"]] for g in gates]
    assert names[0] == names[1] == ["state-version", "healthy-share", "latency", "traffic-share", "checks"]
    assert names[2] == ["healthy-share"]
    assert all(c["healthy"] == c["probes"] == 5 for g in gates for c in g["gates"] if c["gate"] == "healthy-share")
    assert f"--expect-worker-version {new}" in output and "Result: OK" in output


def _users_in_split(log: list[dict[str, Any]]) -> int:
    """Unpinned Worker requests logged since the first deployment POST (the split's start)."""
    start = next((i for i, e in enumerate(log) if e["service"] == "cloudflare" and e["method"] == "POST"
                  and e["path"].endswith("/deployments")), len(log))
    return sum(1 for e in log[start:] if e["service"] == "worker" and e.get("pinned") is False)


def test_a_version_made_unhealthy_at_10_percent_is_reverted_within_one_gate_round(
    sandbox: SandboxInfo, sandbox_env: dict[str, str], sandbox_admin: AdminClient, tmp_path: Path,
    user_traffic: threading.Event,
) -> None:
    """Unhealthy at 10 %: the first round that sees it reverts to 100 % old (at most one round of
    probes reaches the bad version after its first unhealthy answer), user traffic served by it
    stays under 10 % + tolerance, and the output names the gate, the step and the figures."""
    config = write_config(tmp_path, soak_s=4, interval_s=0.5)
    adapter = worker(config)
    old = adapter.active_version()
    process = start_cli(deploy_args(config, tmp_path / "state", tmp_path), sandbox_env)
    versions = wait_for_split(adapter, process)
    new = next(v for v, _ in versions if v != old)
    time.sleep(HEALTHY_FOR_S)
    deadline = time.monotonic() + SPLIT_WAIT_S
    while time.monotonic() < deadline and _users_in_split(sandbox_admin.requests()) < USERS_BEFORE_FAULT:
        time.sleep(0.1)
    sandbox_admin.fault(service="worker", version=new, health="unhealthy")

    output, _ = process.communicate(timeout=120)
    user_traffic.set()

    assert process.returncode == 1, output
    assert next(d for d in adapter.list_deployments() if d.active).versions == ((old, 100.0),)
    assert "gate healthy-share failed at step 10%: " in output
    assert " of 5 /health answers from the new version healthy" in output and "unhealthy" in output
    log = sandbox_admin.requests()
    first_bad = next(i for i, e in enumerate(log) if e.get("version") == new and e["status"] == 503)
    revert = next(i for i, e in enumerate(log) if i > first_bad and e["service"] == "cloudflare"
                  and e["method"] == "POST" and e["path"].endswith("/deployments"))
    probes_after = [e for e in log[first_bad:revert] if e.get("version") == new and e.get("pinned")]
    assert len(probes_after) <= 5
    split_start = next(i for i, e in enumerate(log) if e["service"] == "cloudflare" and e["method"] == "POST"
                       and e["path"].endswith("/deployments"))
    users = [e for e in log[split_start:revert] if e["service"] == "worker" and e.get("pinned") is False]
    served_bad = sum(1 for e in users if e["version"] == new)
    assert len(users) >= 50
    assert 100.0 * served_bad / len(users) <= 10 + TOLERANCE, (served_bad, len(users))


@pytest.mark.parametrize("resume", ["continue", "revert", "rollback"])
def test_a_rollout_killed_mid_split_is_resolved_by_a_re_run(
    sandbox_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str], resume: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SIGKILL at the 10 % step leaves the split; a re-run without --resume refuses (exit 2, nothing
    changed); with --resume continue it ends at 100 % new, with --resume revert at 100 % old, and
    `deploycheck rollback cloudflare-worker` names the rollout, stops it and records it resolved."""
    config = write_config(tmp_path, soak_s=60, interval_s=0.5)
    adapter = worker(config)
    state = tmp_path / "state"
    sync(config, state)
    old = adapter.active_version()
    process = start_cli(deploy_args(config, state, tmp_path), sandbox_env)
    versions = wait_for_split(adapter, process)
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    new = next(v for v, _ in versions if v != old)
    deployments = len(adapter.list_deployments())

    refused = main(deploy_args(config, state, tmp_path))
    output = capsys.readouterr()
    assert refused == 2, output
    assert "an interrupted deploycheck rollout is in progress" in output.err + output.out
    assert len(adapter.list_deployments()) == deployments

    config = write_config(tmp_path, soak_s=0.3, interval_s=0.2)
    if resume == "rollback":
        monkeypatch.setenv("DEPLOYCHECK_STATE_DIR", str(state))
        rollback = ["rollback", "cloudflare-worker", "--config", str(config), "--env", "sandbox", "--yes",
                    "--reason", "stop the rollout", "--no-verify"]
        assert main(rollback) == 0
        output = capsys.readouterr().out
        assert f"gradual rollout in progress: {old} 90%, {new} 10%" in output
        assert next(d for d in adapter.list_deployments() if d.active).versions == ((old, 100.0),)
        assert rollout_events(state)[-1]["phase"] == "resolved"
        return
    code = main(deploy_args(config, state, tmp_path, "--resume", resume))

    output = capsys.readouterr().out
    active = next(d for d in adapter.list_deployments() if d.active)
    if resume == "continue":
        assert code == 0, output
        assert active.versions == ((new, 100.0),)
        assert [e["phase"] for e in rollout_events(state)][-1] == "done"
    else:
        assert code == 1, output
        assert active.versions == ((old, 100.0),)
        assert "was reverted: 100% on " + old in output
        assert [e["phase"] for e in rollout_events(state)][-1] == "reverted"


def test_a_new_version_writing_state_the_old_one_cannot_read_is_reverted(
    sandbox_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Code expecting Durable Object state 3 fails the state-version gate at 10 % (the old version
    expects 2); the revert says the state itself is not reverted."""
    config = write_config(tmp_path, worker_copy(tmp_path, state_version=3))
    adapter = worker(config)
    old = adapter.active_version()

    code = main(deploy_args(config, tmp_path / "state", tmp_path))

    output = capsys.readouterr().out
    assert code == 1, output
    assert "gate state-version failed at step 10%" in output
    assert "the new version wrote state the old one cannot read" in output
    assert "the Durable Object state is NOT reverted" in output
    assert next(d for d in adapter.list_deployments() if d.active).versions == ((old, 100.0),)
