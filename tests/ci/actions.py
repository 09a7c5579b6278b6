"""What GitHub Actions gives a step, for the CI tests: its variables, the checkout, a clean environment."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: what a step of a GitHub Actions job finds in its environment beyond the runner's own (a subset)
ACTIONS_DEFAULTS = {
    "CI": "true",
    "GITHUB_ACTIONS": "true",
    "GITHUB_REF": "refs/heads/main",
    "GITHUB_REF_NAME": "main",
    "GITHUB_REF_TYPE": "branch",
    "GITHUB_REPOSITORY": "example-org/deploycheck",
    "GITHUB_REPOSITORY_OWNER": "example-org",
    "GITHUB_RUN_ID": "8123456789",
    "GITHUB_RUN_NUMBER": "42",
    "GITHUB_RUN_ATTEMPT": "1",
    "GITHUB_EVENT_NAME": "workflow_dispatch",
    "GITHUB_WORKFLOW": "Verify deployment",
    "GITHUB_JOB": "verify",
    "GITHUB_ACTOR": "octocat",
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_API_URL": "https://api.github.com",
    "GITHUB_GRAPHQL_URL": "https://api.github.com/graphql",
    "RUNNER_OS": "Linux",
}


def head_commit() -> str | None:
    """The commit of the checkout the tests run in, or None when it is not a git checkout."""
    done = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--verify", "--quiet", "HEAD"],
        capture_output=True, text=True, timeout=10, check=False,
    )  # fmt: skip
    return done.stdout.strip() or None


def clean_environ(**extra: str) -> dict[str, str]:
    """os.environ without any sandbox, Actions or pytest variable a surrounding run may have set."""
    drop = (
        "GITHUB_", "CI", "RUNNER_", "PYTEST_", "DEPLOYCHECK_", "CLOUDFLARE_", "CONVEX_", "APP_URL", "WORKER_URL",
    )  # fmt: skip
    environ = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    environ["COLUMNS"] = "1000"
    return {**environ, **extra}
