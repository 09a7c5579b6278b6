"""A check file added under checks/ as docs/writing-checks.md shows is collected and parametrized with no wiring."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "writing-checks.md"
EXAMPLE = re.compile(r"<!-- example: (?P<path>\S+) -->\s*```python\n(?P<code>.*?)```", re.S)


def _documented_example() -> tuple[str, str]:
    match = EXAMPLE.search(DOC.read_text(encoding="utf-8"))
    assert match is not None, "docs/writing-checks.md has no example check"
    return match["path"], match["code"]


def test_documented_check_file_runs_per_target(run_checks, tmp_path) -> None:
    """The documentation's example check, copied into a copy of checks/, runs once per Worker target and passes."""
    project = tmp_path / "project"
    shutil.copytree(REPO / "checks", project / "checks", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "deploycheck.yaml", project / "deploycheck.yaml")
    (project / "fixtures" / "example").mkdir(parents=True)
    shutil.copy(REPO / "fixtures" / "example" / "app.env", project / "fixtures" / "example" / "app.env")
    path, code = _documented_example()
    (project / path).write_text(code, encoding="utf-8")
    run = run_checks("-k", "test_worker_reports_a_version", cwd=project)
    assert run.returncode == 0, run.output
    passed = run.lines("PASSED")
    assert any(f"{path}::test_worker_reports_a_version[sandbox-log-ingestion]" in line for line in passed), (
        run.output
    )
    assert "1 passed" in run.output


def test_documented_check_file_fails_when_its_assertion_fails(run_checks, sandbox_admin, tmp_path) -> None:
    """The same example check fails when the Worker is unreachable (it is a real check, not a formality)."""
    import socket

    project = tmp_path / "project"
    shutil.copytree(REPO / "checks", project / "checks", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "deploycheck.yaml", project / "deploycheck.yaml")
    path, code = _documented_example()
    (project / path).write_text(code, encoding="utf-8")
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    run = run_checks(
        "-k", "test_worker_reports_a_version", cwd=project, env={"WORKER_URL": f"http://127.0.0.1:{port}"}
    )
    assert run.returncode == 1, run.output
    assert any("test_worker_reports_a_version[sandbox-log-ingestion]" in line for line in run.lines("FAILED"))
