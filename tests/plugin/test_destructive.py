"""Destructive checks are opt-in on remote environments and on by default locally."""

from __future__ import annotations

import pytest

from deploycheck.config import Environment
from deploycheck.pytest_plugin.destructive import destructive_skip_reason

CHECKS = """
import pytest

@pytest.mark.destructive
def test_posts_a_log():
    pass

def test_reads_only():
    pass
"""


def test_remote_environment_skips_destructive_checks_by_default(project, write_check) -> None:
    """On production a destructive check skips, naming --destructive and the config switch; others run."""
    write_check(CHECKS)
    result = project.runpytest("--env=production", "--no-reports", "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*destructive check*not run on the remote environment 'production'*--destructive*"])


def test_destructive_option_runs_them(project, write_check) -> None:
    """pytest --destructive runs destructive checks on a remote environment."""
    write_check(CHECKS)
    project.runpytest("--env=production", "--no-reports", "--destructive").assert_outcomes(passed=2)


def test_local_environment_runs_them(project, write_check) -> None:
    """A local environment (remote: false) runs destructive checks without being asked."""
    write_check(CHECKS)
    project.runpytest("--env=local", "--no-reports").assert_outcomes(passed=2)


@pytest.mark.parametrize(
    ("env", "asked", "runs"),
    [
        (Environment("production"), False, False),
        (Environment("production"), True, True),
        (Environment("production", destructive=True), False, True),
        (Environment("sandbox", sandbox=True), False, True),
        (Environment("dev", remote=False), False, True),
        (Environment("dev", remote=False, destructive=False), False, False),
    ],
)
def test_the_rule(env: Environment, asked: bool, runs: bool) -> None:
    """--destructive or destructive: true opt in; local envs and the sandbox are in unless destructive: false."""
    assert (destructive_skip_reason(env, asked=asked) is None) is runs


def test_config_accepts_the_switch(tmp_path) -> None:
    """destructive: true under an environment passes the schema and reaches Environment.destructive."""
    from deploycheck.config import load_config

    path = tmp_path / "deploycheck.yaml"
    path.write_text(
        "project: p\nenvironments:\n  production:\n    destructive: true\n"
        "targets:\n  W:\n    platform: cloudflare-worker\n    environments:\n      production: {script: w}\n"
    )
    assert load_config(path).environment("production").destructive is True
