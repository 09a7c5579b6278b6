"""The malformed-table corpus: every file exits 2, names file:line, and writes nothing anywhere."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from deploycheck.config import load_config
from deploycheck.errors import SoTError
from deploycheck.sot import load_sot

from .conftest import CORPUS, REPO

INDEX = yaml.safe_load((CORPUS / "index.yaml").read_text("utf-8"))
CASES: list[dict[str, Any]] = INDEX["cases"]


def test_corpus_has_at_least_thirty_cases_and_lists_every_file() -> None:
    """The index names every corpus file, at least 30, each with at least one expected problem."""
    files = sorted(p.name for p in CORPUS.glob("*.env"))
    assert len(CASES) >= 30
    assert sorted(c["file"] for c in CASES) == files
    assert all(c["problems"] for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_corpus_file_reports_its_problems(case: dict[str, Any]) -> None:
    """load_sot raises SoTError with each expected problem at its line, and no other problem."""
    path = CORPUS / case["file"]
    with pytest.raises(SoTError) as caught:
        load_sot(path, load_config(REPO / "deploycheck.yaml"))
    problems = caught.value.problems
    for expected in case["problems"]:
        assert any(p.line == expected["line"] and expected["contains"] in str(p) for p in problems), (
            expected,
            [str(p) for p in problems],
        )
    unexpected = [
        str(p) for p in problems if not any(p.line == e["line"] and e["contains"] in str(p) for e in case["problems"])
    ]
    assert unexpected == []
    assert all(p.hint for p in problems)


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_corpus_file_exits_2_and_writes_nothing(case: dict[str, Any], project, cli, sandbox_env, sandbox_admin) -> None:  # type: ignore[no-untyped-def]
    """sync-env exits 2 with file:line on stderr for local and deploy-prod; no file or platform write."""
    path = CORPUS / case["file"]
    before = sandbox_admin.state()
    for mode in (["--mode=local"], ["--mode=deploy-prod", "--env", "sandbox", "--yes"]):
        run = cli(project.args(*mode, sot=path))
        assert run.code == 2, run.err
        assert run.out == ""
        for expected in case["problems"]:
            assert f"{path}:{expected['line']}:" in run.err
    assert project.files() == []
    assert not project.state_dir.exists()
    assert sandbox_admin.writes() == []
    assert sandbox_admin.state() == before


def test_secret_values_never_appear_in_corpus_messages(cli, project) -> None:  # type: ignore[no-untyped-def]
    """A secret's PROD_VALUE that points at localhost is reported without the value."""
    path = CORPUS / "prod-secret-localhost.env"
    run = cli(project.args("--mode=local", sot=path))
    assert run.code == 2
    assert "SLACK_WEBHOOK_URL" in run.err
    assert "k7Jp2Wq9Lz4Xv8Nb" not in run.err


def test_bad_table_stops_a_dry_run_too(cli, project) -> None:  # type: ignore[no-untyped-def]
    """--dry-run validates the same way: exit 2, nothing printed to stdout."""
    run = cli(project.args("--mode=deploy-prod", "--env", "sandbox", "--dry-run", sot=CORPUS / "duplicate-key.env"))
    assert run.code == 2 and "duplicate KEY" in run.err and run.out == ""
