"""checks/test_drift.py run as the deployment checks run: one test per key and target, in JUnit."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import requests

from deploycheck.sandbox import SandboxInfo

REPO = Path(__file__).resolve().parents[2]


def run_checks(tmp_path: Path, *extra: str) -> tuple[int, dict[str, str], str]:
    """Run the drift checks against the already running sandbox; return exit code, outcomes by id, output."""
    junit = tmp_path / "junit.xml"
    command = [
        sys.executable, "-m", "pytest", "checks/test_drift.py", "--env", "sandbox", "--no-reports",
        "-p", "no:cacheprovider", "-p", "no:xdist", f"--junitxml={junit}", "-q", *extra,
    ]  # fmt: skip
    done = subprocess.run(
        command, check=False, cwd=REPO, env=dict(os.environ), capture_output=True, text=True, timeout=120
    )
    outcomes: dict[str, str] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = case.get("name", "")
        if case.find("failure") is not None or case.find("error") is not None:
            outcomes[name] = "failed"
        elif case.find("skipped") is not None:
            outcomes[name] = "skipped"
        else:
            outcomes[name] = "passed"
    return done.returncode, outcomes, done.stdout + done.stderr


@pytest.mark.sandbox
def test_checks_pass_after_a_sync(synced: Path, tmp_path: Path) -> None:
    """After a sync every per-key drift check passes, with ids naming env, target and key."""
    code, outcomes, output = run_checks(tmp_path)
    assert code == 0, output
    assert outcomes["test_no_drift[sandbox-CONVEX-APP_ENV]"] == "passed"
    assert outcomes["test_no_drift[sandbox-GITHUB-CLOUDFLARE_API_TOKEN]"] == "passed"
    assert outcomes["test_no_unexpected_keys[sandbox-CLOUDFLARE_WORKER]"] == "passed"
    assert len([n for n in outcomes if n.startswith("test_no_drift[")]) == 20
    assert set(outcomes.values()) == {"passed"}


@pytest.mark.sandbox
def test_one_changed_value_fails_exactly_its_check(
    synced: Path, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    """A Convex value changed on the platform fails exactly test_no_drift[sandbox-CONVEX-APP_ENV]."""
    response = requests.post(
        f"{sandbox.convex_url}/api/v1/update_environment_variables",
        json={"changes": [{"name": "APP_ENV", "value": "staging"}]},
        headers={"Authorization": f"Convex {sandbox.convex_deploy_key}"},
        timeout=5,
    )
    assert response.status_code == 200
    code, outcomes, output = run_checks(tmp_path)
    failed = sorted(n for n, o in outcomes.items() if o == "failed")
    assert failed == ["test_no_drift[sandbox-CONVEX-APP_ENV]"], output
    assert code == 1
    assert "value_differs" in output
    assert "deploycheck sync-env --mode=deploy-prod --env sandbox --only APP_ENV --target CONVEX" in output


@pytest.mark.sandbox
def test_platform_filter_narrows_the_checks(synced: Path, tmp_path: Path, sandbox_admin: Any) -> None:
    """--platform github-actions collects only the GitHub keys and reads only GitHub."""
    sandbox_admin.clear_requests()
    code, outcomes, output = run_checks(tmp_path, "--platform", "github-actions")
    assert code == 0, output
    assert sorted(outcomes) == [
        "test_no_drift[sandbox-GITHUB-CLOUDFLARE_ACCOUNT_ID]",
        "test_no_drift[sandbox-GITHUB-CLOUDFLARE_API_TOKEN]",
        "test_no_drift[sandbox-GITHUB-CONVEX_DEPLOY_KEY]",
        "test_no_drift[sandbox-GITHUB-SLACK_WEBHOOK_URL]",
        "test_no_unexpected_keys[sandbox-GITHUB]",
    ]
    assert {r["service"] for r in sandbox_admin.requests()} == {"github"}
