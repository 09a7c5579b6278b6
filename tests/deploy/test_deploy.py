"""The deploy sequence with fake deploy commands: order, isolation, stop_on_failure, proof of a
new deployment, rollback commands, the gate, dry-run and the audit log."""

from __future__ import annotations

import json
import sys

import pytest

from deploycheck.config import load_config
from deploycheck.deploy import GateResult, deploy
from deploycheck.state import StateStore


def passing_gate():
    """A gate that finds no drift."""
    return GateResult(True, 0, "no drift (test gate)")


def run(project, config, **options):
    """Deploy the project with the test gate, the file reader and the recording verifier."""
    gate = options.pop("gate", passing_gate)
    return deploy(
        config,
        project.options(**options),
        project.out,
        gate=gate,
        reader=project.reader,
        verifier=project.verifier,
    )


def audit_lines(project, config):
    """The audit log of the project's state dir, parsed."""
    store = StateStore.for_project(config, config.sot_path("staging"), project.root / "dc-state")
    return [json.loads(line) for line in store.audit_path.read_text().splitlines()]


def test_every_platform_deploys_in_the_configured_order_and_is_verified_once(project):
    """All three commands run in deploy.order; one verification covers all, expecting the new ids."""
    config = project.write(order=["cloudflare-pages", "convex", "cloudflare-worker"])
    report = run(project, config)
    assert report.exit_code == 0, project.out.getvalue()
    assert [o.step.platform for o in report.outcomes] == ["cloudflare-pages", "convex", "cloudflare-worker"]
    assert [o.status for o in report.outcomes] == ["deployed"] * 3
    assert all(project.deployed(p) == 1 for p in ("convex", "cloudflare-worker", "cloudflare-pages"))
    ((platforms, expect),) = project.verified
    assert platforms == ["cloudflare-pages", "convex", "cloudflare-worker"]
    worker = report.outcomes[2].produced
    assert expect == {
        "--expect-pages-deployment": report.outcomes[0].produced.deployment_id,
        "--expect-worker-version": worker.version_id,
    }
    assert worker.version_id == f"v-{worker.deployment_id}"
    text = project.out.getvalue()
    assert "[cloudflare-pages] created deployment for cloudflare-pages" in text
    assert text.rstrip().endswith("Result: OK")


def test_platform_option_selects_platforms_keeping_the_configured_order(project):
    """--platform worker --platform convex deploys those two, Convex first as deploy.order says."""
    config = project.write()
    report = run(project, config, platforms=("worker", "convex"))
    assert [o.step.platform for o in report.outcomes] == ["convex", "cloudflare-worker"]
    assert project.deployed("cloudflare-pages") == 0


def test_a_failed_platform_does_not_stop_the_others_by_default(project):
    """The Worker's command exits 1: Convex and Pages still deploy; the summary shows the failure; exit 1."""
    config = project.write({"cloudflare-worker": "fail"})
    report = run(project, config)
    assert [o.status for o in report.outcomes] == ["deployed", "failed", "deployed"]
    assert report.exit_code == 1
    failed = report.outcomes[1]
    assert failed.command.exit_code == 1
    assert "Error: upload rejected (HTTP 500)" in failed.command.tail
    text = project.out.getvalue()
    assert "cloudflare-worker (WORKER)  FAILED    the command exited 1" in text
    assert "Error: upload rejected (HTTP 500)" in text.split("Deploy summary")[1]
    assert project.verified[0][0] == ["convex", "cloudflare-pages"]
    assert text.rstrip().endswith("Result: FAILED")


def test_stop_on_failure_skips_the_remaining_platforms(project):
    """With stop_on_failure the platforms after a failure are skipped, not run."""
    config = project.write({"convex": "fail"}, stop_on_failure=True)
    report = run(project, config)
    assert [o.status for o in report.outcomes] == ["failed", "skipped", "skipped"]
    assert project.deployed("cloudflare-worker") == project.deployed("cloudflare-pages") == 0
    assert report.exit_code == 1
    assert project.verified == []
    assert "stop_on_failure" in report.outcomes[1].reason


def test_the_command_line_flag_overrides_stop_on_failure(project):
    """stop_on_failure=False from the command line continues although the config says stop."""
    config = project.write({"convex": "fail"}, stop_on_failure=True)
    report = run(project, config, stop_on_failure=False)
    assert [o.status for o in report.outcomes] == ["failed", "deployed", "deployed"]


def test_exit_zero_without_a_new_deployment_is_a_failure(project):
    """A command that exits 0 but creates nothing fails with the reason and no rollback command."""
    config = project.write({"cloudflare-pages": "noop"})
    report = run(project, config)
    pages = report.outcomes[2]
    assert pages.status == "failed"
    assert pages.command.exit_code == 0
    assert pages.reason == "the command exited 0 but no new deployment appeared"
    assert report.exit_code == 1
    assert report.rollbacks == []


def test_a_deploy_that_failed_after_changing_production_gets_a_rollback_command(project):
    """A command that changed what serves traffic and then exited 1 is rolled back to the previous id."""
    config = project.write({"cloudflare-worker": "partial"})
    before = project.reader.read("cloudflare-worker", "WORKER")
    report = run(project, config)
    worker = report.outcomes[1]
    assert worker.status == "failed" and worker.partial
    assert "after partially applying" in worker.reason
    assert report.rollbacks == [
        f"deploycheck rollback cloudflare-worker --env staging --to {before.active} --reason 'deploy failed'"
    ]
    assert (
        f"deploycheck rollback cloudflare-worker --env staging --to {before.active}" in project.out.getvalue()
    )


def test_failed_verification_names_the_rollback_of_each_failing_platform(project):
    """Checks failing for Pages: exit 1 and the Pages rollback command back to the previous deployment."""
    config = project.write()
    project.failing_checks = ("cloudflare-pages",)
    report = run(project, config)
    assert [o.status for o in report.outcomes] == ["deployed"] * 3
    assert report.exit_code == 1
    assert report.rollbacks == [
        "deploycheck rollback cloudflare-pages --env staging --to seed --reason 'post-deploy verification failed'"
    ]


def test_the_gate_stops_the_deploy_before_any_command(project):
    """Drift found by the gate: no command runs, the drift report is printed, exit 1."""
    config = project.write()

    def gate():
        return GateResult(
            False, 1, "drift found: 1 finding(s)", "CONVEX APP_ENV: changed outside deploycheck"
        )

    report = run(project, config, gate=gate)
    assert report.exit_code == 1 and report.stopped_by_gate
    assert report.outcomes == [] and project.reader.reads == []
    assert sum(project.deployed(p) for p in ("convex", "cloudflare-worker", "cloudflare-pages")) == 0
    text = project.out.getvalue()
    assert "CONVEX APP_ENV: changed outside deploycheck" in text
    assert "--allow-drift" in text


def test_an_unreadable_platform_in_the_gate_stops_the_deploy_unless_allowed(project):
    """A gate that could not read a platform (exit 3) stops the deploy; --allow-drift deploys anyway."""
    config = project.write()
    gate = lambda: GateResult(False, 3, "1 target(s) could not be read: GITHUB (github-actions)")  # noqa: E731
    assert run(project, config, gate=gate).exit_code == 1
    assert project.deployed("convex") == 0
    report = run(project, config, gate=gate, allow_drift=True)
    assert report.exit_code == 0
    assert project.deployed("convex") == 1


def test_dry_run_prints_gate_order_and_commands_and_runs_nothing(project):
    """--dry-run shows the gate result and each command in order, reads no state and runs nothing."""
    config = project.write(order=["cloudflare-worker"])
    report = run(project, config, dry_run=True)
    assert report.exit_code == 0
    assert project.reader.reads == [] and project.verified == []
    assert sum(project.deployed(p) for p in ("convex", "cloudflare-worker", "cloudflare-pages")) == 0
    text = project.out.getvalue()
    assert "Gate (drift check of staging): no drift" in text
    assert "Plan (staging): cloudflare-worker -> convex -> cloudflare-pages" in text
    assert project.command("convex", "ok") in text
    assert "Dry run: nothing was run." in text
    assert not (project.root / "dc-state").exists()


def test_each_deploy_is_recorded_in_the_audit_log(project):
    """Every step appends a deploy event with the ids read back, the git commit field and the actor."""
    config = project.write({"cloudflare-pages": "fail"})
    report = run(project, config)
    events = audit_lines(project, config)
    assert [(e["platform"], e["result"]) for e in events] == [
        ("convex", "deployed"),
        ("cloudflare-worker", "deployed"),
        ("cloudflare-pages", "failed"),
    ]
    worker = events[1]
    assert worker["operation"] == "deploy" and worker["env"] == "staging"
    assert worker["produced"]["version_id"] == report.outcomes[1].produced.version_id
    assert worker["before"]["active"] == "v-seed"
    assert {"time", "actor", "commit"} <= set(worker)
    assert events[2]["exit_code"] == 1


def test_a_remote_environment_needs_yes_without_a_terminal(project):
    """Deploying a remote environment with neither --yes nor a terminal is bad input: nothing runs."""
    from deploycheck.errors import UsageError

    project.write()
    text = (project.root / "deploycheck.yaml").read_text().replace("remote: false", "remote: true")
    (project.root / "deploycheck.yaml").write_text(text)
    config = load_config(project.root / "deploycheck.yaml")
    with pytest.raises(UsageError) as caught:
        run(project, config, yes=False, interactive=False)
    assert "--yes" in str(caught.value)
    assert caught.value.exit_code == 2
    assert project.deployed("convex") == 0


def test_a_command_past_its_timeout_fails_its_platform_only(project):
    """A Worker deploy that hangs past deploy_timeout is killed and reported; the others deploy."""
    config = project.write({"cloudflare-worker": "sleep"}, timeout=1)
    report = run(project, config)
    assert [o.status for o in report.outcomes] == ["deployed", "failed", "deployed"]
    worker = report.outcomes[1]
    assert worker.command.timed_out
    assert "timed out after" in worker.reason and "process group killed" in worker.reason


def test_a_git_push_deploy_waits_for_the_platform_build(project):
    """Pages deployed by `git push` succeeds once the build the push triggered becomes live."""
    bin_dir = project.root / "bin"
    bin_dir.mkdir()
    fake_git = bin_dir / "git"
    fake_git.write_text(
        f"#!{sys.executable}\n"
        "import os, subprocess, sys\n"
        "print('pushed to origin main', flush=True)\n"
        'build = "import time, uuid, os; time.sleep(0.3); '
        f"open({str(project.state)!r} + '/cloudflare-pages.txt', 'a').write(uuid.uuid4().hex + chr(10))\"\n"
        "subprocess.Popen([sys.executable, '-c', build], start_new_session=True)\n"
    )
    fake_git.chmod(0o755)
    project.write()
    path = project.root / "deploycheck.yaml"
    text = path.read_text()
    start = text.index("deploy_command", text.index("project: web"))
    path.write_text(
        text[:start]
        + "deploy_command: git push origin main\n        deploy_timeout: 30\n"
        + text[text.index("\n", start) + 1 :]
    )
    config = load_config(path)
    report = run(project, config, platforms=("pages",), environ={"PATH": f"{bin_dir}:/usr/bin:/bin"})
    pages = report.outcomes[0]
    assert pages.step.triggered
    assert pages.status == "deployed", project.out.getvalue()
    assert pages.produced.live and project.deployed("cloudflare-pages") == 1
