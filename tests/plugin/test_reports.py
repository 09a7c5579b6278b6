"""The three reports: report.html, junit.xml and results.json, with WARN in each, serial and under xdist."""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET

import pytest

CHECKS = """
    import pytest
    import deploycheck

    def test_ok():
        assert True

    def test_slow():
        deploycheck.warn("response took 1800 ms")

    def test_broken():
        assert 1 == 2, "status 503"

    @pytest.mark.platform("cloudflare-worker")
    def test_worker(target):
        assert target.resource == "log-ingestion-dev"

    def test_skipped():
        pytest.skip("not today")
"""


def _html_tests(path):
    """The per-test data pytest-html embeds in the report, by node id."""
    page = path.read_text()
    blob = re.search(r'data-jsonblob="([^"]*)"', page).group(1)
    return json.loads(html.unescape(blob))["tests"]


def _testcases(path):
    return {case.get("name"): case for case in ET.parse(path).getroot().iter("testcase")}


def test_default_reports_are_written(project, write_check):
    """A run writes reports/report.html (self-contained), junit.xml and results.json by default."""
    write_check(CHECKS)
    result = project.runpytest()
    assert result.ret == 1
    reports = project.path / "reports"
    assert sorted(p.name for p in reports.iterdir()) == ["junit.xml", "report.html", "results.json"]
    page = (reports / "report.html").read_text()
    assert '<link href="assets/style.css"' not in page
    assert not (reports / "assets").exists()


def test_no_reports_and_report_dir(project, write_check):
    """--no-reports writes nothing; --report-dir moves all three."""
    write_check("def test_ok():\n    pass\n")
    assert project.runpytest("--no-reports").ret == 0
    assert not (project.path / "reports").exists()
    assert project.runpytest("--report-dir", "out/run1").ret == 0
    assert sorted(p.name for p in (project.path / "out" / "run1").iterdir()) == ["junit.xml", "report.html", "results.json"]


def test_explicit_paths_are_kept(project, write_check):
    """--junitxml and --html given by the user win over the defaults."""
    write_check("def test_ok():\n    pass\n")
    assert project.runpytest("--junitxml=mine.xml", "--html=mine.html").ret == 0
    assert (project.path / "mine.xml").is_file() and (project.path / "mine.html").is_file()
    assert not (project.path / "reports" / "junit.xml").exists()
    assert (project.path / "reports" / "results.json").is_file()


def test_results_json_records(project, write_check):
    """results.json has one record per check with id, env, platform, outcome, duration, message, target and resource."""
    write_check(CHECKS)
    project.runpytest()
    data = json.loads((project.path / "reports" / "results.json").read_text())
    records = {r["id"].split("::")[1]: r for r in data["checks"]}
    assert {k: r["outcome"] for k, r in records.items()} == {
        "test_ok": "pass",
        "test_slow": "warn",
        "test_broken": "fail",
        "test_worker[local-log-ingestion-dev]": "pass",
        "test_skipped": "skip",
    }
    assert records["test_slow"]["message"] == "response took 1800 ms"
    assert records["test_broken"]["message"].startswith("AssertionError: status 503")
    assert records["test_skipped"]["message"] == "not today"
    assert records["test_worker[local-log-ingestion-dev]"]["platform"] == "cloudflare-worker"
    assert all(r["env"] == "local" and r["duration"] >= 0 for r in records.values())
    assert set(records["test_ok"]) == {"id", "env", "platform", "outcome", "duration", "message", "target", "resource"}
    assert records["test_worker[local-log-ingestion-dev]"]["resource"] == "log-ingestion-dev"
    assert data["verdict"] == "FAILED"
    assert data["counts"] == {"pass": 2, "warn": 1, "fail": 1, "skip": 1, "error": 0}


def test_junit_keeps_warned_case_passed_with_property(project, write_check):
    """In junit.xml the warned case has no failure, a deploycheck_outcome=warn property and the message in system-out."""
    write_check(CHECKS)
    project.runpytest()
    cases = _testcases(project.path / "reports" / "junit.xml")
    slow = cases["test_slow"]
    assert slow.find("failure") is None and slow.find("skipped") is None
    props = {p.get("name"): p.get("value") for p in slow.iter("property")}
    assert props["deploycheck_outcome"] == "warn"
    assert props["deploycheck_message"] == "response took 1800 ms"
    assert "WARN: response took 1800 ms" in slow.find("system-out").text
    assert cases["test_broken"].find("failure") is not None
    assert "deploycheck_outcome" not in {p.get("name") for p in cases["test_ok"].iter("property")}


def test_html_labels_and_counts_warn(project, write_check):
    """report.html labels the warned row WARN with its own colour, counts it and names env, config and settings."""
    write_check(CHECKS)
    project.runpytest("--dc-set", "API_TOKEN=tok-0123456789abcdef")
    page = (project.path / "reports" / "report.html").read_text()
    rows = {nodeid.split("::")[1]: entries[0] for nodeid, entries in _html_tests(project.path / "reports" / "report.html").items()}
    assert '<td class="col-outcome dc-warn">WARN</td>' in rows["test_slow"]["resultsTableRow"]
    assert '<td class="col-result dc-warned">Passed</td>' in rows["test_slow"]["resultsTableRow"]
    assert '<td class="col-outcome dc-fail">FAIL</td>' in rows["test_broken"]["resultsTableRow"]
    assert "WARN: response took 1800 ms" in rows["test_slow"]["log"]
    assert ".dc-warn" in page  # the stylesheet is embedded
    assert '<span class="dc-count dc-warn" data-outcome="warn">1 warned</span>' in page
    assert 'data-dc-filter="warn"' in page  # the WARN filter of the results table
    assert "Verification FAILED" in page
    assert "deploycheck: local verification" in page
    assert "setting APP_URL" in page and "http://localhost:3200 (default, deploycheck.yaml:8)" in page
    assert "setting API_TOKEN" in page and "sha256:" in page
    assert "tok-0123456789abcdef" not in page


@pytest.mark.parametrize("workers", ["2"])
def test_xdist_reports_each_check_once(project, write_check, workers):
    """Under -n 2 every check appears exactly once in junit.xml, results.json and the HTML data."""
    write_check(CHECKS)
    result = project.runpytest("-n", workers)
    assert result.ret == 1
    reports = project.path / "reports"
    cases = list(ET.parse(reports / "junit.xml").getroot().iter("testcase"))
    assert sorted(c.get("name") for c in cases) == sorted(
        ["test_ok", "test_slow", "test_broken", "test_worker[local-log-ingestion-dev]", "test_skipped"]
    )
    slow = next(c for c in cases if c.get("name") == "test_slow")
    assert {p.get("name"): p.get("value") for p in slow.iter("property")}["deploycheck_outcome"] == "warn"
    data = json.loads((reports / "results.json").read_text())
    assert len(data["checks"]) == 5
    assert data["counts"]["warn"] == 1
    tests = _html_tests(reports / "report.html")
    assert len(tests) == 5
    assert all(len(entries) == 1 for entries in tests.values())
