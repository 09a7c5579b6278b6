"""sync-env end to end against the sandbox's emulated platforms, over real HTTP on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path

import pytest

from deploycheck.config import load_config
from deploycheck.platforms import open_target
from deploycheck.platforms.base import VarChange
from deploycheck.redact import fingerprint
from deploycheck.sot import load_sot
from deploycheck.state import StateStore

from .conftest import EXAMPLE_SOT, REPO, fingerprints, platform_values

pytestmark = pytest.mark.sandbox
PROD = ("--mode=deploy-prod", "--env", "sandbox")


def expected_prod(sot_path: Path = EXAMPLE_SOT) -> dict[str, dict[str, str]]:
    """Fingerprints of the PROD values each target must hold."""
    sot = load_sot(sot_path, load_config(REPO / "deploycheck.yaml"))
    return {
        t: {e.key: fingerprint(e.prod or "") for e in sot.for_target(t)}
        for t in ("NEXTJS", "CONVEX", "CLOUDFLARE_WORKER", "GITHUB")
    }


def test_dry_run_makes_no_write_anywhere(project, cli, sandbox_env, sandbox_admin) -> None:  # type: ignore[no-untyped-def]
    """deploy-prod --dry-run reads every platform, prints the plan, and writes nothing anywhere."""
    run = cli(project.args(*PROD, "--dry-run"))
    assert run.code == 0, run.err
    assert sandbox_admin.writes() == []
    assert {r["service"] for r in sandbox_admin.requests()} >= {"cloudflare", "convex", "github"}
    assert "Plan: 20 to add" in run.out
    assert project.files() == [] and not project.state_dir.exists()


def test_deploy_prod_converges_and_second_run_writes_nothing(project, cli, sandbox_env, sandbox_admin) -> None:  # type: ignore[no-untyped-def]
    """--yes leaves every platform holding exactly the PROD values; a second run makes zero writes."""
    run = cli(project.args(*PROD, "--yes"))
    assert run.code == 0, run.err
    assert fingerprints(platform_values(sandbox_admin.state())) == expected_prod()
    assert "read-back: confirmed" in run.out
    assert "***" not in run.out + run.err  # nothing secret was even attempted to be printed
    sandbox_admin.clear_requests()
    again = cli(project.args(*PROD, "--yes"))
    assert again.code == 0, again.err
    assert sandbox_admin.writes() == []
    assert "0 to add, 0 to change, 0 to remove, 20 unchanged" in again.out


def test_ledger_and_audit_hold_no_values(project, cli, sandbox_env, sandbox_admin) -> None:  # type: ignore[no-untyped-def]
    """After a sync the ledger and audit log hold fingerprints, never a value of the table."""
    assert cli(project.args(*PROD, "--yes")).code == 0
    store = StateStore(project.state_dir, "app.example.com")
    sot = load_sot(EXAMPLE_SOT, load_config(REPO / "deploycheck.yaml"))
    values = [v for e in sot.entries for v in (e.dev, e.prod) if v and len(v) >= 8]
    for path in (store.ledger_path, store.audit_path):
        text = path.read_text("utf-8")
        assert [v for v in values if v in text] == [], path
    audit = [json.loads(line) for line in store.audit_path.read_text("utf-8").splitlines()]
    # written ahead: the intent line before the first write, then the completion line
    assert [a["phase"] for a in audit] == ["intent", "completed"]
    assert audit[0]["run_id"] == audit[1]["run_id"]
    audit = audit[1:]
    assert audit[0]["mode"] == "deploy-prod" and audit[0]["result"] == "ok"
    keys = {k["key"]: k["fingerprint"] for k in audit[0]["keys"]["CONVEX"]}
    assert keys["OPENAI_API_KEY"] == expected_prod()["CONVEX"]["OPENAI_API_KEY"]


def test_fault_on_one_target_reports_and_rerun_converges(project, cli, sandbox_env, sandbox_admin) -> None:  # type: ignore[no-untyped-def]
    """A 500 on Convex's batch update: exit 1, Convex named as not applied, others done; a re-run converges."""
    sandbox_admin.fault(service="convex", path="update_environment_variables", status=500)
    run = cli(project.args(*PROD, "--yes", "--format", "json"))
    assert run.code == 1
    assert "SyncError" in run.err and "CONVEX" in run.err
    doc = json.loads(run.out)
    outcomes = {t["target"]: t for t in doc["targets"]}
    assert outcomes["CONVEX"]["status"] == "failed"
    assert sorted(outcomes["CONVEX"]["not_applied"]) == sorted(expected_prod()["CONVEX"])
    assert outcomes["CONVEX"]["applied"] == []
    for target in ("NEXTJS", "CLOUDFLARE_WORKER", "GITHUB"):
        assert outcomes[target]["status"] == "applied" and outcomes[target]["not_applied"] == []
    held = fingerprints(platform_values(sandbox_admin.state()))
    assert held["CONVEX"] == {}
    assert held["GITHUB"] == expected_prod()["GITHUB"]
    sandbox_admin.clear_faults()
    sandbox_admin.clear_requests()
    again = cli(project.args(*PROD, "--yes"))
    assert again.code == 0, again.err
    assert fingerprints(platform_values(sandbox_admin.state())) == expected_prod()
    assert {w["service"] for w in sandbox_admin.writes()} == {"convex"}


def test_deploy_prod_without_yes_off_a_terminal_exits_2(project, cli, sandbox_env, sandbox_admin) -> None:  # type: ignore[no-untyped-def]
    """Without --yes and no terminal to ask on, deploy-prod refuses before reading anything."""
    run = cli(project.args(*PROD))
    assert run.code == 2 and "--yes" in run.err
    assert sandbox_admin.requests() == [] and project.files() == []


def test_deploy_dev_to_a_prod_environment_is_refused(project, cli, sandbox_env, sandbox_admin) -> None:  # type: ignore[no-untyped-def]
    """--mode=deploy-dev --env sandbox would push DEV values to a PROD environment: exit 2."""
    run = cli(project.args("--mode=deploy-dev", "--env", "sandbox"))
    assert run.code == 2 and "takes PROD values" in run.err
    assert sandbox_admin.writes() == []


def test_unknown_target_lists_the_valid_ones(project, cli, sandbox_env, sandbox_admin) -> None:  # type: ignore[no-untyped-def]
    """--target with a typo exits 2 listing the valid targets; nothing is read or written."""
    run = cli(project.args(*PROD, "--yes", "--target", "GITHUBB"))
    assert run.code == 2
    assert "valid: CLOUDFLARE_WORKER, CONVEX, GITHUB, NEXTJS" in run.err and "'GITHUB'" in run.err
    assert sandbox_admin.requests() == []


def test_concurrent_sync_waits_then_refuses(project, cli, sandbox_env, sandbox_admin) -> None:  # type: ignore[no-untyped-def]
    """While another run holds the project lock, sync-env waits its timeout, exits 1 and writes nothing."""
    store = StateStore(project.state_dir, "app.example.com")
    held, release = threading.Event(), threading.Event()

    def other_run() -> None:
        with store.lock(5, purpose="another sync"):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=other_run)
    thread.start()
    try:
        assert held.wait(5)
        run = cli(project.args(*PROD, "--yes", "--lock-timeout", "0.3"))
    finally:
        release.set()
        thread.join()
    assert run.code == 1
    assert "LockError" in run.err and "another sync" in run.err
    assert sandbox_admin.writes() == []


def test_extras_are_kept_and_prune_removes_only_owned_keys(project, cli, sandbox_env, sandbox_admin, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A key dropped from the table stays without --prune; --prune deletes it but not a key made by hand."""
    assert cli(project.args(*PROD, "--yes", "--target", "CLOUDFLARE_WORKER")).code == 0
    config = project.config
    worker = open_target(config, config.targets["CLOUDFLARE_WORKER"], "sandbox")
    worker.apply_config([VarChange("HAND_MADE_FLAG", "add", "on", False)])
    trimmed = tmp_path / "trimmed.env"
    text = EXAMPLE_SOT.read_text("utf-8")
    trimmed.write_text("\n".join(line for line in text.splitlines() if "| LOG_LEVEL " not in line) + "\n", "utf-8")
    kept = cli(project.args(*PROD, "--yes", "--target", "CLOUDFLARE_WORKER", sot=trimmed))
    assert kept.code == 0, kept.err
    assert "? LOG_LEVEL" in kept.out and "--prune deletes it" in kept.out
    assert "? HAND_MADE_FLAG" in kept.out and "not created by deploycheck" in kept.out
    assert "LOG_LEVEL" in platform_values(sandbox_admin.state())["CLOUDFLARE_WORKER"]
    pruned = cli(project.args(*PROD, "--yes", "--target", "CLOUDFLARE_WORKER", "--prune", sot=trimmed))
    assert pruned.code == 0, pruned.err
    held = platform_values(sandbox_admin.state())["CLOUDFLARE_WORKER"]
    assert "LOG_LEVEL" not in held and held["HAND_MADE_FLAG"] == "on"


def test_only_writes_just_that_key(project, cli, sandbox_env, sandbox_admin) -> None:  # type: ignore[no-untyped-def]
    """--target CONVEX --only APP_ENV sets that one variable and nothing else."""
    run = cli(project.args(*PROD, "--yes", "--target", "CONVEX", "--only", "APP_ENV"))
    assert run.code == 0, run.err
    assert platform_values(sandbox_admin.state())["CONVEX"] == {"APP_ENV": "production"}
    assert [w["service"] for w in sandbox_admin.writes()] == ["convex"]


def test_script_runs_as_a_subprocess(project, sandbox_env, sandbox_admin) -> None:  # type: ignore[no-untyped-def]
    """scripts/sync-env runs the same command in a new process: a dry run prints the plan, writes nothing."""
    env = {**os.environ, **sandbox_env, "PATH": f"{REPO / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        [str(REPO / "scripts" / "sync-env"), *project.args(*PROD, "--dry-run")[1:]],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "sync-env deploy-prod: PROD values" in done.stdout and "Plan: 20 to add" in done.stdout
    assert sandbox_admin.writes() == []
    assert project.files() == []


def test_secret_rewritten_outside_deploycheck_is_restored(project, cli, sandbox_env, sandbox_admin) -> None:  # type: ignore[no-untyped-def]
    """A GitHub secret overwritten by hand moves its updated_at; the next sync sees it and writes the table's value."""
    only_github = (*PROD, "--yes", "--target", "GITHUB")
    assert cli(project.args(*only_github)).code == 0
    config = project.config
    github = open_target(config, config.targets["GITHUB"], "sandbox")
    before = github.read_config().vars["CLOUDFLARE_API_TOKEN"].marker
    github.apply_config([VarChange("CLOUDFLARE_API_TOKEN", "change", "hand-set-token-Yq2Lm8Vx4Nb6", True)])
    for _ in range(20):  # updated_at has a 1 s resolution: write again until it moves
        if github.read_config().vars["CLOUDFLARE_API_TOKEN"].marker != before:
            break
        threading.Event().wait(0.2)
        github.apply_config([VarChange("CLOUDFLARE_API_TOKEN", "change", "hand-set-token-Yq2Lm8Vx4Nb6", True)])
    run = cli(project.args(*only_github))
    assert run.code == 0, run.err
    assert "~ CLOUDFLARE_API_TOKEN (secret)" in run.out and "changed on the platform" in run.out
    held = fingerprints(platform_values(sandbox_admin.state()))["GITHUB"]
    assert held["CLOUDFLARE_API_TOKEN"] == expected_prod()["GITHUB"]["CLOUDFLARE_API_TOKEN"]


class _Terminal:
    """A stand-in stdin that is a terminal answering ``answer``."""

    def __init__(self, answer: str) -> None:
        self.answer = answer

    def isatty(self) -> bool:
        return True

    def readline(self) -> str:
        return self.answer


def test_terminal_confirmation_gates_deploy_prod(project, cli, sandbox_env, sandbox_admin, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """On a terminal, deploy-prod asks first: 'n' writes nothing (exit 1), 'y' applies."""
    monkeypatch.setattr("sys.stdin", _Terminal("n\n"))
    declined = cli(project.args(*PROD, "--target", "CONVEX"))
    assert declined.code == 1 and "Apply 5 change(s) to sandbox? [y/N]" in declined.err
    assert "nothing was written" in declined.err
    assert sandbox_admin.writes() == []
    monkeypatch.setattr("sys.stdin", _Terminal("y\n"))
    accepted = cli(project.args(*PROD, "--target", "CONVEX"))
    assert accepted.code == 0, accepted.err
    assert fingerprints(platform_values(sandbox_admin.state()))["CONVEX"] == expected_prod()["CONVEX"]


def test_sot_location_from_the_environment(project, cli, sandbox_env, sandbox_admin, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """DEPLOYCHECK_SOT points at the table when --sot is not given."""
    monkeypatch.setenv("DEPLOYCHECK_SOT", str(EXAMPLE_SOT))
    run = cli(project.args(*PROD, "--dry-run", sot=None))
    assert run.code == 0, run.err
    assert f"PROD values from {EXAMPLE_SOT}" in run.out


def test_missing_credential_stops_before_any_write(project, cli, sandbox_env, sandbox_admin, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Without GITHUB_TOKEN the run exits 2 naming the problem, and no other platform is written either."""
    monkeypatch.delenv("GITHUB_TOKEN")
    run = cli(project.args(*PROD, "--yes"))
    assert run.code == 2, run.err
    assert "GITHUB_TOKEN" in run.err
    assert sandbox_admin.writes() == [] and not project.state_dir.exists()


def test_no_platform_readable_exits_3(project, cli, sandbox_env, sandbox_admin) -> None:  # type: ignore[no-untyped-def]
    """When every platform refuses the credential, the plan shows why and the exit code is 3."""
    for service in ("cloudflare", "convex", "github"):
        sandbox_admin.fault(service=service, status=401)
    run = cli(project.args(*PROD, "--dry-run"))
    assert run.code == 3, run.err
    assert run.out.count("cannot be read") == 4
    assert "AuthError" in run.err
    assert sandbox_admin.writes() == []


def test_deploy_dev_pushes_dev_values(project, cli, sandbox_env, sandbox_admin) -> None:  # type: ignore[no-untyped-def]
    """deploy-dev writes the DEV column; keys with an empty DEV_VALUE are not set at all."""
    import yaml

    data = yaml.safe_load(project.config_path.read_text("utf-8"))
    data["environments"]["sandbox-dev"] = {"remote": True, "values": "dev", "sandbox": True}
    for target in data["targets"].values():
        target["environments"]["sandbox-dev"] = dict(target["environments"]["sandbox"])
    project.config_path.write_text(yaml.safe_dump(data), "utf-8")
    run = cli(project.args("--mode=deploy-dev", "--env", "sandbox-dev"))
    assert run.code == 0, run.err
    sot = load_sot(EXAMPLE_SOT, load_config(REPO / "deploycheck.yaml"))
    expected = {
        t: {e.key: fingerprint(e.dev) for e in sot.for_target(t) if e.dev is not None}
        for t in ("NEXTJS", "CONVEX", "CLOUDFLARE_WORKER", "GITHUB")
    }
    assert fingerprints(platform_values(sandbox_admin.state())) == expected
    assert "SLACK_WEBHOOK_URL" not in expected["GITHUB"]
