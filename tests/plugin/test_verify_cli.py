"""``deploycheck verify`` / ``scripts/verify-deployment`` and ``deploycheck config``: verdicts and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from deploycheck.cli import main

REPO = Path(__file__).resolve().parents[2]


def _checks(write_check, *, warn: bool = False, fail: bool = False) -> None:
    body = "import deploycheck\n\ndef test_ok():\n    pass\n"
    if warn:
        body += "\ndef test_warn():\n    deploycheck.warn('slow')\n"
    if fail:
        body += "\ndef test_fail():\n    assert False, 'down'\n"
    write_check(body)


@pytest.mark.parametrize(
    ("warn", "fail", "code", "verdict"),
    [
        (False, False, 0, "✅ Verification PASSED"),
        (True, False, 0, "⚠️  Verification PASSED with warnings"),
        (True, True, 1, "❌ Verification FAILED"),
    ],
)
def test_verify_verdicts(project, write_check, capsys, warn, fail, code, verdict):
    """verify ends with the counts and the seed's verdict line; exit 0 / 0 / 1."""
    _checks(write_check, warn=warn, fail=fail)
    assert main(["verify", "local", "-p", "no:cacheprovider"]) == code
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == verdict
    assert out[-2] == f"Checks (local): 1 passed, {int(warn)} warned, {int(fail)} failed"


def test_verify_fail_on_warn(project, write_check, capsys):
    """--fail-on-warn passes through to pytest: warnings exit 1 with the FAILED verdict."""
    _checks(write_check, warn=True)
    assert main(["verify", "local", "--fail-on-warn"]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "❌ Verification FAILED"


def test_verify_usage_errors_exit_2(project, write_check, capsys):
    """An unknown environment, a malformed --set or a missing ENV exit 2."""
    _checks(write_check)
    assert main(["verify", "nowhere"]) == 2
    assert main(["verify", "local", "--set", "oops"]) == 2
    assert main(["verify"]) == 2
    assert "missing ENV" in capsys.readouterr().err


def test_verify_set_reaches_settings(project, write_check):
    """--set NAME=VALUE overrides the setting inside the checks."""
    write_check("def test_url(dc_settings):\n    assert dc_settings.get('APP_URL').value == 'https://x.test'\n")
    assert main(["verify", "local", "--set", "APP_URL=https://x.test"]) == 0


def test_verify_no_checks_is_failure(project, capsys):
    """A run that collects no checks verified nothing: exit 1."""
    assert main(["verify", "local"]) == 1
    assert "no checks were collected" in capsys.readouterr().out


def test_summary_from_results_json(project, write_check, capsys):
    """--summary-from renders results.json as Markdown with the verdict and each non-passing check."""
    _checks(write_check, warn=True, fail=True)
    main(["verify", "local"])
    capsys.readouterr()
    assert main(["verify", "--summary-from", str(project.path / "reports" / "results.json")]) == 0
    text = capsys.readouterr().out
    assert text.startswith("## Deployment verification: local")
    assert "**❌ Verification FAILED**" in text
    assert "| WARN | `checks/test_checks.py::test_warn` |  | slow |" in text
    assert "| FAIL | `checks/test_checks.py::test_fail` |" in text
    assert "test_ok" not in text


def test_summary_from_bad_file_exits_2(tmp_path, capsys):
    """A missing or foreign results.json is a usage error."""
    assert main(["verify", "--summary-from", str(tmp_path / "none.json")]) == 2
    (tmp_path / "x.json").write_text(json.dumps({"a": 1}))
    assert main(["verify", "--summary-from", str(tmp_path / "x.json")]) == 2


def test_script_wraps_verify(project, write_check):
    """scripts/verify-deployment ENV runs the same verification and exit code."""
    _checks(write_check, warn=True)
    result = subprocess.run(
        [str(REPO / "scripts" / "verify-deployment"), "local", "-p", "no:cacheprovider"],
        cwd=project.path,
        capture_output=True,
        text=True,
        env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"},
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "⚠️  Verification PASSED with warnings"


def test_config_show_masks_secrets_and_names_sources(project, capsys, monkeypatch):
    """config show lists each setting with its source; secrets appear as fingerprints only."""
    monkeypatch.setenv("API_TOKEN", "tok-very-secret-123456")
    assert main(["config", "show", "--env", "production", "--set", "APP_URL=https://cli.test"]) == 0
    out = capsys.readouterr().out
    assert "environment: production -- remote (never reads local .env files)" in out
    assert "APP_URL    https://cli.test  [cli: --set APP_URL]" in out
    assert "API_TOKEN  sha256:" in out and "[env: env API_TOKEN]" in out
    assert "tok-very-secret" not in out


def test_config_validate(project, capsys):
    """config validate says OK for a good file and lists every problem (exit 2) for a bad one."""
    assert main(["config", "validate"]) == 0
    assert ": OK (2 environments, 3 targets, 2 settings)" in capsys.readouterr().out
    (project.path / "deploycheck.yaml").write_text("project: 1\nenvironments: {}\ntargets:\n  web: {platform: pages}\n")
    assert main(["config", "validate"]) == 2
    err = capsys.readouterr().err
    assert "ConfigError" in err
    assert "deploycheck.yaml:1: project: expected string" in err
    assert "'pages' is not allowed" in err
