"""End to end: the shipped checks against a sandbox, healthy and with injected faults."""

from __future__ import annotations

import json
from pathlib import Path

import requests

from deploycheck.config import load_config
from deploycheck.platforms import open_target
from deploycheck.redact import fingerprint
from deploycheck.sot import load_sot

REPO = Path(__file__).resolve().parents[2]
SOT = REPO / "fixtures" / "example" / "app.env"


def test_healthy_sandbox_passes_every_check(run_checks) -> None:
    """Against a synced healthy sandbox every check passes or skips with a reason, exit code 0, three reports."""
    run = run_checks()
    assert run.returncode == 0, run.output
    assert "Verification PASSED" in run.output
    assert not run.lines("FAILED"), run.output
    assert not run.lines("ERROR"), run.output
    for name in (
        "test_worker_health[sandbox-log-ingestion]",
        "test_pages_content_marker[sandbox-app-web]",
        "test_convex_identity[sandbox-prod-graceful-shrimp-355]",
        "test_config_matches_sot[sandbox-app-web]",
        "test_app_uses_checked_convex[sandbox-app-web]",
        "test_worker_accepts_app_logs[sandbox-log-ingestion]",
        "test_integration_chain[sandbox-worker-log-roundtrip]",
    ):
        assert any(name in line for line in run.lines("PASSED")), (name, run.output)
    results = json.loads((run.report_dir / "results.json").read_text())
    assert results
    assert (run.report_dir / "junit.xml").is_file()
    assert (run.report_dir / "report.html").is_file()


def test_xdist_run_passes(run_checks) -> None:
    """`pytest -n 2 checks --env=sandbox` passes the same checks."""
    run = run_checks("-n", "2")
    assert run.returncode == 0, run.output
    assert "Verification PASSED" in run.output


def test_degraded_worker_warns_and_exits_zero(run_checks, sandbox_admin) -> None:
    """A degraded /health makes test_worker_health WARN with the Worker's reason; the run still exits 0."""
    sandbox_admin.fault(service="worker", health="degraded")
    run = run_checks("-m", "cloudflare_worker")
    assert run.returncode == 0, run.output
    warned = [line for line in run.lines("WARN") if "test_worker_health[sandbox-log-ingestion]" in line]
    assert warned, run.output
    assert "degraded" in warned[0]
    assert "redis answered slowly" in warned[0]
    assert "PASSED with warnings" in run.output


def test_unhealthy_worker_fails_with_reason(run_checks, sandbox_admin) -> None:
    """An unhealthy /health (503) fails test_worker_health, naming the status and the reason; exit code 1."""
    sandbox_admin.fault(service="worker", health="unhealthy")
    run = run_checks("-m", "cloudflare_worker")
    assert run.returncode == 1, run.output
    failed = [line for line in run.lines("FAILED") if "test_worker_health[sandbox-log-ingestion]" in line]
    assert failed, run.output
    assert "unhealthy (HTTP 503)" in failed[0]
    assert "redis is unreachable" in failed[0]
    assert "Verification FAILED" in run.output


def test_unreachable_worker_fails(run_checks) -> None:
    """A Worker that does not answer fails test_worker_health with "no answer"; exit code 1."""
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    run = run_checks("-k", "test_worker_health", env={"WORKER_URL": f"http://127.0.0.1:{port}"})
    assert run.returncode == 1, run.output
    failed = [line for line in run.lines("FAILED") if "test_worker_health[sandbox-log-ingestion]" in line]
    assert failed, run.output
    assert "no answer from" in failed[0]


def test_missing_content_marker_fails_with_next_step(run_checks, synced_sandbox, tmp_path) -> None:
    """A Pages deployment without the content marker fails test_pages_content_marker naming platform and next step."""
    from deploycheck.cli import main

    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<html><head><title>x</title></head><body>a broken build</body></html>")
    assert main(["sandbox", "upload", "pages", "--project", "app-web", "--dir", str(site)]) == 0
    run = run_checks("-m", "cloudflare_pages")
    assert run.returncode == 1, run.output
    failed = [line for line in run.lines("FAILED") if "test_pages_content_marker[sandbox-app-web]" in line]
    assert failed, run.output
    assert "cloudflare-pages app-web" in failed[0]
    assert 'data-app="app.example.com"' in failed[0]
    assert "Next step" in failed[0]
    # the site serves the new deployment, so the served-deployment check still agrees with the API
    assert any("test_pages_serves_active_deployment" in line for line in run.lines("PASSED")), run.output


def test_dev_value_in_production_fails_naming_key_and_command(run_checks, synced_sandbox) -> None:
    """A Convex value set to its DEV_VALUE fails test_config_no_dev_values naming platform, key and sync command."""
    dev_value = next(e.dev for e in load_sot(SOT).entries if e.key == "APP_ENV")
    assert dev_value is not None
    response = requests.post(
        f"{synced_sandbox['CONVEX_URL']}/api/v1/update_environment_variables",
        headers={"Authorization": f"Convex {synced_sandbox['CONVEX_SELF_HOSTED_ADMIN_KEY']}"},
        json={"changes": [{"name": "APP_ENV", "value": dev_value}]},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    run = run_checks("-m", "convex")
    assert run.returncode == 1, run.output
    failed = [
        line
        for line in run.lines("FAILED")
        if "test_config_no_dev_values[sandbox-prod-graceful-shrimp-355]" in line
    ]
    assert failed, run.output
    line = failed[0]
    assert "convex prod-graceful-shrimp-355 (CONVEX)" in line
    assert "APP_ENV holds its DEV_VALUE" in line
    assert "deploycheck sync-env --mode=deploy-prod --env sandbox --target CONVEX --only APP_ENV" in line
    # values are shown by fingerprint only: no secret of the table appears anywhere
    for value in load_sot(SOT).secret_values():
        assert value not in run.output, fingerprint(value)


def test_worker_rollback_past_migration_warns(run_checks, synced_sandbox) -> None:
    """After rolling the Worker back to an older version, state-newer-than-code and rollback-in-effect WARN, exit 0."""
    config = load_config(REPO / "deploycheck.yaml")
    worker = open_target(config, config.targets["CLOUDFLARE_WORKER"], "sandbox", synced_sandbox)
    older = worker.list_versions()[-2]  # release 2 expects state version 1; the state is at 2
    worker.roll_back(older.id, force=True, message="Rollback")
    run = run_checks(
        "-k", "test_worker_state_version or test_worker_active_deployment or test_worker_version"
    )
    assert run.returncode == 0, run.output
    warns = run.lines("WARN")
    assert any("test_worker_state_version" in w and "newer than the code expects" in w for w in warns), (
        run.output
    )
    assert any("test_worker_active_deployment" in w and "rollback in effect" in w for w in warns), run.output
    assert any("test_worker_version[sandbox-log-ingestion]" in p for p in run.lines("PASSED")), run.output


def test_development_worker_without_api_token_skips_api_checks(run_checks, sandbox) -> None:
    """With only WORKER_URL (no Cloudflare credentials), health passes and the API-dependent checks skip with the reason."""
    environ = {"CLOUDFLARE_API_TOKEN": "", "WORKER_URL": sandbox.worker_url}
    run = run_checks("--env=development", "--platform=cloudflare-worker", "-k", "test_worker_", env=environ)
    assert run.returncode == 0, run.output
    assert any("test_worker_health[development-log-ingestion-dev]" in line for line in run.lines("PASSED"))
    skipped = "\n".join(run.lines("SKIPPED"))
    assert "CLOUDFLARE_API_TOKEN not set" in skipped, run.output
    assert "deployments not checked" in skipped
    assert not run.lines("FAILED")


def test_expect_options_fail_on_mismatch(run_checks) -> None:
    """--expect-commit and --expect-worker-version naming other builds fail the Pages and Worker checks."""
    run = run_checks(
        "-k", "test_pages_expected_deployment or test_worker_version",
        "--expect-commit", "0000000deadbeef", "--expect-worker-version", "not-the-running-version",
    )  # fmt: skip
    assert run.returncode == 1, run.output
    failed = run.lines("FAILED")
    assert any(
        "test_pages_expected_deployment[sandbox-app-web]" in f and "0000000deadbeef" in f for f in failed
    )
    assert any(
        "test_worker_version[sandbox-log-ingestion]" in f and "--expect-worker-version" in f for f in failed
    )
