"""`deploycheck report merge`: a 3-shard run (by platform) merges into the reports of one unsharded run.

The shards and the unsharded run are real runs of the checks (`deploycheck ci run verify`)
against one sandbox state, with a degraded Worker so that WARN is among the outcomes.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from ci.actions import REPO, clean_environ
from deploycheck.cli import main
from deploycheck.sandbox import SandboxInfo
from deploycheck.sandbox.upload import upload_pages

pytestmark = pytest.mark.sandbox

SHARDS = {"pages": "cloudflare-pages", "worker": "cloudflare-worker", "rest": "convex,github-actions"}
FILES = ("results.json", "junit.xml", "report.html", "summary.md")


def verify(folder: Path, environ: dict[str, str], platforms: str = "") -> int:
    """`deploycheck ci run verify --env sandbox` in a subprocess, its reports in ``folder``."""
    args = [
        sys.executable,
        "-m",
        "deploycheck",
        "ci",
        "run",
        "verify",
        "--env",
        "sandbox",
        "--report-dir",
        str(folder),
    ]
    if platforms:
        args += ["--platforms", platforms]
    done = subprocess.run(
        args, cwd=REPO, env=environ, capture_output=True, text=True, timeout=300, check=False
    )
    assert (folder / "results.json").is_file(), done.stdout + done.stderr
    return done.returncode


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, sandbox_server) -> Iterator[dict[str, Path]]:
    """One unsharded run and three shards by platform, all against the same synced sandbox state."""
    sandbox_server.reset()
    info: SandboxInfo = sandbox_server.info
    root = tmp_path_factory.mktemp("merge")
    environ = clean_environ(
        **info.environ(), DEPLOYCHECK_STATE_DIR=str(root / "state"), DEPLOYCHECK_HTTP_TIMEOUT="5"
    )
    saved = dict(os.environ)
    os.environ.update(environ)
    try:
        config = str(REPO / "deploycheck.yaml")
        assert main(["sync-env", "--mode=deploy-prod", "--env", "sandbox", "--yes", "--config", config]) == 0
        upload_pages("app-web", REPO / "fixtures" / "example" / "web", environ)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    from deploycheck.sandbox.admin import AdminClient

    AdminClient(info.admin_url).fault(service="worker", health="degraded")
    folders = {"single": root / "single", **{name: root / name for name in SHARDS}}
    codes = {"single": verify(folders["single"], environ)}
    codes |= {name: verify(folders[name], environ, platforms) for name, platforms in SHARDS.items()}
    assert codes["single"] == 0, codes  # passed with warnings
    yield folders
    sandbox_server.reset()  # the degraded Worker is this module's alone


def merge(out: Path, *folders: Path) -> int:
    """`deploycheck report merge FOLDER... --out OUT`."""
    return main(["report", "merge", *map(str, folders), "--out", str(out)])


def shards(runs: dict[str, Path]) -> list[Path]:
    """The three shard folders."""
    return [runs[name] for name in SHARDS]


def blob(page: str) -> dict:
    """pytest-html's data blob of a report page."""
    return json.loads(html.unescape(re.search(r'data-jsonblob="([^"]*)"', page).group(1)))


def junit_cases(path: Path) -> tuple[dict[str, str], set[tuple[str, str]]]:
    """The testsuite's count attributes and its test cases' (classname, name)."""
    suite = ET.parse(path).getroot().find("testsuite")
    counts = {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped")}
    return counts, {(c.get("classname"), c.get("name")) for c in suite.findall("testcase")}


def test_three_shards_merge_into_the_unsharded_run(runs: dict[str, Path], tmp_path: Path):
    """Counts, verdict, check list and outcomes of results.json, JUnit and HTML equal the one-runner run's."""
    assert all(json.loads((f / "results.json").read_text())["checks"] for f in shards(runs))
    assert merge(tmp_path / "merged", *shards(runs)) == 0
    single = json.loads((runs["single"] / "results.json").read_text())
    merged = json.loads((tmp_path / "merged" / "results.json").read_text())
    assert merged["verdict"] == single["verdict"] == "PASSED with warnings"
    assert merged["counts"] == single["counts"] and single["counts"]["warn"] >= 1
    assert sorted(c["id"] for c in merged["checks"]) == sorted(c["id"] for c in single["checks"])
    outcome = {c["id"]: c["outcome"] for c in single["checks"]}
    assert {c["id"]: c["outcome"] for c in merged["checks"]} == outcome
    assert merged["env"] == "sandbox" and merged["platforms"] == sorted(
        ["cloudflare-pages", "cloudflare-worker", "convex", "github-actions"]
    )

    single_counts, single_cases = junit_cases(runs["single"] / "junit.xml")
    merged_counts, merged_cases = junit_cases(tmp_path / "merged" / "junit.xml")
    assert merged_counts == single_counts and merged_cases == single_cases

    single_page = (runs["single"] / "report.html").read_text()
    merged_page = (tmp_path / "merged" / "report.html").read_text()
    assert blob(merged_page)["tests"].keys() == blob(single_page)["tests"].keys()
    # the dashboard's verdict and counts, as its banner shows them
    summary = re.compile(r'<div id="dc-dashboard" data-summary="([^"]*)"')
    merged_summary, single_summary = summary.search(merged_page), summary.search(single_page)
    assert merged_summary is not None and single_summary is not None
    assert json.loads(html.unescape(merged_summary.group(1))) == json.loads(html.unescape(single_summary.group(1)))
    filters = re.compile(r'data-test-result="(\w+)"\s*(disabled)?\s*>\s*<span class="\1">(\d+)')
    assert len(filters.findall(single_page)) == 8  # every filter of pytest-html 4 was read
    assert filters.findall(merged_page) == filters.findall(single_page)
    summary = (tmp_path / "merged" / "summary.md").read_text()
    assert "## Deployment verification: sandbox" in summary and "WARN" in summary


def test_merge_is_idempotent_and_order_independent(runs: dict[str, Path], tmp_path: Path):
    """Merging in another order, or merging the merged folder again with a shard, gives the same bytes."""
    first, second, again = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert merge(first, *shards(runs)) == 0
    assert merge(second, *reversed(shards(runs))) == 0
    assert merge(again, first, runs["worker"], first) == 0
    for name in FILES:
        text = (first / name).read_text()
        assert (second / name).read_text() == text, name
        assert (again / name).read_text() == text, name


def test_a_failing_shard_fails_the_merge(runs: dict[str, Path], tmp_path: Path):
    """A check that failed in one shard makes the merged verdict FAILED and the exit code 1."""
    pages, broken = tmp_path / "pages", tmp_path / "broken"  # results.json only: junit/html need all shards
    pages.mkdir()
    broken.mkdir()
    (pages / "results.json").write_text((runs["pages"] / "results.json").read_text())
    data = json.loads((runs["worker"] / "results.json").read_text())
    data["checks"][0] = {**data["checks"][0], "outcome": "fail", "message": "it broke"}
    (broken / "results.json").write_text(json.dumps(data))
    assert merge(tmp_path / "out", pages, broken) == 1
    assert not (tmp_path / "out" / "junit.xml").exists()
    merged = json.loads((tmp_path / "out" / "results.json").read_text())
    assert merged["verdict"] == "FAILED" and merged["counts"]["fail"] == 1


def test_bad_shards_are_refused_and_nothing_is_written(runs: dict[str, Path], tmp_path: Path, capsys):
    """A folder without results.json, or one lacking the junit.xml the others have: exit 2, no output."""
    empty = tmp_path / "empty"
    empty.mkdir()
    assert merge(tmp_path / "out1", runs["pages"], empty) == 2
    assert "results.json" in capsys.readouterr().err and not (tmp_path / "out1").exists()
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "results.json").write_text((runs["worker"] / "results.json").read_text())
    assert merge(tmp_path / "out2", runs["pages"], partial) == 2
    err = capsys.readouterr().err
    assert "junit.xml is missing" in err and str(partial / "junit.xml") in err
    assert not (tmp_path / "out2").exists()
