"""The main job (`pytest --env=sandbox`) gives the same verdict with the environment GitHub Actions sets.

Actions always sets GITHUB_SHA, the default of --expect-commit: the embedded sandbox
serves the web app of the checkout it runs in, so its active Pages deployment is HEAD.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ci.actions import REPO, clean_environ

pytestmark = pytest.mark.sandbox


def main_job(report_dir: Path, environ: dict[str, str], *args: str) -> tuple[int, dict, str]:
    """Run `python -m pytest --env=sandbox` from the repository root; exit code, results.json, output."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--env=sandbox", "-p", "no:cacheprovider", f"--report-dir={report_dir}",
         *args],
        cwd=REPO, env=environ, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    results = (
        json.loads((report_dir / "results.json").read_text())
        if (report_dir / "results.json").is_file()
        else {}
    )
    return done.returncode, results, done.stdout + done.stderr


def outcomes(results: dict) -> dict[str, str]:
    """Check id -> outcome of a results.json."""
    return {c["id"]: c["outcome"] for c in results["checks"]}


EXPECTED = "checks/test_pages.py::test_pages_expected_deployment[sandbox-app-web]"


def test_main_job_verdict_is_the_same_under_github_actions(tmp_path: Path, actions_env: dict[str, str]):
    """With GITHUB_SHA=HEAD, GITHUB_REF, GITHUB_REPOSITORY, CI=true... the main job passes like it does bare."""
    bare_code, bare, bare_out = main_job(tmp_path / "bare", clean_environ())
    code, actions, out = main_job(tmp_path / "actions", clean_environ(**actions_env))
    assert bare_code == 0, bare_out
    assert code == 0, out
    assert actions["verdict"] == bare["verdict"] == "PASSED"
    plain, under_actions = outcomes(bare), outcomes(actions)
    assert plain.keys() == under_actions.keys()
    # the one check GITHUB_SHA turns on: skipped without an expectation, passed with HEAD expected
    assert plain.pop(EXPECTED) == "skip" and under_actions.pop(EXPECTED) == "pass"
    assert plain == under_actions
    # the embedded sandbox served the checkout's commit, whatever GITHUB_API_URL/GITHUB_REPOSITORY said
    assert "Verification PASSED" in out


def test_github_sha_of_another_commit_fails_the_expected_deployment_check(
    tmp_path: Path, actions_env: dict[str, str]
):
    """Control: GITHUB_SHA naming a commit that was not deployed fails test_pages_expected_deployment."""
    environ = clean_environ(**{**actions_env, "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567"})
    code, results, out = main_job(tmp_path / "other", environ, "-k", "test_pages_expected_deployment")
    assert code == 1, out
    assert outcomes(results)[EXPECTED] == "fail"
    assert "expected 0123456789abcdef" in out


def test_expect_commit_takes_a_git_ref(tmp_path: Path, head: str):
    """--expect-commit HEAD resolves in the checkout and holds; an unknown ref is a usage error."""
    code, results, out = main_job(tmp_path / "ref", clean_environ(), "--expect-commit", "HEAD")
    assert code == 0, out
    assert outcomes(results)[EXPECTED] == "pass"
    code, _results, out = main_job(tmp_path / "bad", clean_environ(), "--expect-commit", "no-such-ref-19")
    assert code == 4, out
    assert "--expect-commit 'no-such-ref-19' is neither a commit hash nor a ref git resolves" in out
