"""A hanging platform: the checks say what they wait for every few seconds, with no TTY."""

from __future__ import annotations


def test_hanging_platform_prints_progress(run_checks, sandbox_admin) -> None:
    """GitHub hanging: the run prints "Still waiting for github-actions: ..." lines, then fails naming it."""
    sandbox_admin.fault(service="github", hang=True)
    try:
        run = run_checks(
            "-k", "example-app or GITHUB",
            env={"DEPLOYCHECK_HTTP_TIMEOUT": "3", "DEPLOYCHECK_HTTP_RETRIES": "1", "DEPLOYCHECK_HTTP_BUDGET": "8"},
        )  # fmt: skip
    finally:
        sandbox_admin.clear_faults()
    waits = [line for line in run.output.splitlines() if "Still waiting for github-actions: list" in line]
    assert waits, run.output
    assert any("s elapsed]" in line for line in waits)
    assert run.returncode == 1
    assert "root cause" in run.output
