"""An environment marked sandbox: the controller starts one embedded sandbox that every worker shares."""

from __future__ import annotations

import os

import pytest

SANDBOX_CONFIG = """\
project: demo
default_env: sandbox
environments:
  sandbox:
    remote: true
    sandbox: true
settings:
  APP_URL: {}
  WORKER_URL: {}
targets:
  WORKER:
    platform: cloudflare-worker
    environments:
      sandbox: {script: log-ingestion}
"""

CHECKS = """
    import os
    import requests

    def test_settings_point_at_the_sandbox(dc_settings):
        app = dc_settings.get("APP_URL")
        assert app.source == "env" and app.value.startswith("http://127.0.0.1:")
        assert dc_settings.get("WORKER_URL").value.startswith("http://127.0.0.1:")
        assert os.environ["DEPLOYCHECK_STATE_DIR"]

    def test_admin_answers(target):
        info = requests.get(os.environ["DEPLOYCHECK_SANDBOX_ADMIN_URL"] + "/info", timeout=5).json()
        print("ADMIN", os.environ["DEPLOYCHECK_SANDBOX_ADMIN_URL"])
        assert info["worker_url"] == os.environ["WORKER_URL"]
"""


@pytest.fixture
def sandbox_project(pytester: pytest.Pytester, monkeypatch) -> pytest.Pytester:
    """A project whose only environment is the embedded sandbox."""
    for name in ("DEPLOYCHECK_SANDBOX_ADMIN_URL", "APP_URL", "WORKER_URL", "DEPLOYCHECK_STATE_DIR"):
        monkeypatch.delenv(name, raising=False)
    pytester.makefile(".yaml", deploycheck=SANDBOX_CONFIG)
    pytester.makeini("[pytest]\ntestpaths = checks\n")
    pytester.mkdir("checks")
    (pytester.path / "checks" / "test_sandbox.py").write_text(__import__("textwrap").dedent(CHECKS))
    return pytester


@pytest.mark.sandbox
def test_sandbox_started_and_environment_restored(sandbox_project):
    """In-process: the checks see the sandbox through settings and os.environ, restored after the run."""
    result = sandbox_project.runpytest("--no-reports")
    assert result.ret == 0, result.stdout.str()
    assert "DEPLOYCHECK_SANDBOX_ADMIN_URL" not in os.environ
    assert "APP_URL" not in os.environ


@pytest.mark.sandbox
def test_xdist_workers_share_the_controllers_sandbox(sandbox_project):
    """Under -n 2 both workers use the one sandbox the controller started (same admin URL)."""
    sandbox_project.makepyfile(
        **{
            "checks/test_more": """
            import os
            def test_a(): print("ADMIN", os.environ["DEPLOYCHECK_SANDBOX_ADMIN_URL"])
            def test_b(): print("ADMIN", os.environ["DEPLOYCHECK_SANDBOX_ADMIN_URL"])
            def test_c(): print("ADMIN", os.environ["DEPLOYCHECK_SANDBOX_ADMIN_URL"])
            """
        }
    )
    result = sandbox_project.runpytest_subprocess("-n", "2", "-rP", "--no-reports", "-p", "no:randomly")
    assert result.ret == 0, result.stdout.str()
    admins = {line.split()[1] for line in result.stdout.lines if line.startswith("ADMIN ")}
    assert len(admins) == 1
    workers = {line.split()[1] for line in result.stdout.lines if line.startswith("[gw")}
    assert len(workers) <= 2
