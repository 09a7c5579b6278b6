"""How pytest reports become PASS / WARN / FAIL / SKIP / ERROR, the verdict, results.json and the summaries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _pytest.reports import CollectReport, TestReport

from deploycheck.errors import UsageError
from deploycheck.redact import MASK, Redactor, redactor
from deploycheck.report import (
    ENV_PROPERTY,
    MESSAGE_PROPERTY,
    OUTCOME_PROPERTY,
    PLATFORM_PROPERTY,
    RESOURCE_PROPERTY,
    TARGET_PROPERTY,
    Results,
    load_results,
    render_markdown,
    summary_lines,
    verdict,
    warn_message,
)

NODE = "checks/test_health.py::test_api[production]"


def report(
    when: str = "call", outcome: str = "passed", longrepr: Any = None, *, nodeid: str = NODE,
    props: list[tuple[str, object]] | None = None, duration: float = 0.0, **extra: Any,
) -> TestReport:  # fmt: skip
    return TestReport(
        nodeid, ("checks/test_health.py", 3, "test_api"), {}, outcome, longrepr, when,  # type: ignore[arg-type]
        duration=duration, user_properties=props or [], **extra,
    )  # fmt: skip


def crash(message: str) -> Any:
    """A real failure representation (what pytest attaches to a failed report)."""
    try:
        raise AssertionError(message)
    except AssertionError as exc:
        return pytest.ExceptionInfo.from_exception(exc).getrepr()


WARNED = [(OUTCOME_PROPERTY, "warn"), (MESSAGE_PROPERTY, "certificate expires in 9 days")]


def folded(*reports: Any, env: str = "production") -> dict[str, Any]:
    results = Results(env)
    for item in reports:
        results.add_report(item)
    (record,) = results.records
    return {"outcome": record.outcome, "message": record.message, "platform": record.platform, "env": record.env}


# -- one phase ---------------------------------------------------------------------------------


def test_passed_call_is_pass() -> None:
    """A passing check is PASS with no message."""
    assert folded(report("setup"), report(), report("teardown"))["outcome"] == "pass"
    assert folded(report())["message"] == ""


def test_failed_call_is_fail_with_the_assertion_message() -> None:
    """A failing call is FAIL, its message the crash line."""
    result = folded(report("setup"), report("call", "failed", crash("status was 503")))
    assert (result["outcome"], result["message"]) == ("fail", "AssertionError: status was 503")


def test_failed_call_with_plain_text_uses_its_last_line() -> None:
    """A failure reported as text (no crash object) takes the last line of that text as message."""
    result = folded(report("call", "failed", "Traceback ...\nline two\nRuntimeError: boom\n"))
    assert (result["outcome"], result["message"]) == ("fail", "RuntimeError: boom")
    assert folded(report("call", "failed", ""))["message"] == ""


@pytest.mark.parametrize("when", ["setup", "teardown"])
def test_failed_fixture_is_error(when: str) -> None:
    """A failure outside the call (a fixture's setup or teardown) is ERROR, not FAIL."""
    reports = [report("setup", "failed", crash("no sandbox"))] if when == "setup" else [
        report("setup"), report(), report("teardown", "failed", crash("cleanup failed")),
    ]  # fmt: skip
    result = folded(*reports)
    assert result["outcome"] == "error"
    assert result["message"] == ("AssertionError: no sandbox" if when == "setup" else "AssertionError: cleanup failed")


def test_skipped_check_is_skip_with_its_reason() -> None:
    """A skipped check is SKIP, its message the reason without pytest's "Skipped: " prefix."""
    result = folded(report("setup", "skipped", ("checks/test_health.py", 3, "Skipped: no Worker configured")))
    assert (result["outcome"], result["message"]) == ("skip", "no Worker configured")


def test_xfail_is_skip_and_xpass_is_pass() -> None:
    """An expected failure is SKIP "xfail: <reason>"; an unexpected pass (non-strict) is PASS "xpass: <reason>"."""
    xfailed = folded(report("call", "skipped", None, wasxfail="known outage"))
    assert (xfailed["outcome"], xfailed["message"]) == ("skip", "xfail: known outage")
    xpassed = folded(report("call", "passed", None, wasxfail="known outage"))
    assert (xpassed["outcome"], xpassed["message"]) == ("pass", "xpass: known outage")
    bare = folded(report("call", "skipped", None, wasxfail=""))
    assert bare["message"] == "xfail:"


def test_warned_call_is_warn_with_its_message() -> None:
    """A passing call carrying the WARN property is WARN with the recorded message."""
    result = folded(report("setup"), report(props=WARNED), report("teardown"))
    assert (result["outcome"], result["message"]) == ("warn", "certificate expires in 9 days")


def test_warn_property_outside_the_call_does_not_warn() -> None:
    """Only the call phase can warn: the property on a setup report leaves the check PASS."""
    assert folded(report("setup", props=WARNED))["outcome"] == "pass"


def test_warn_message_defaults_and_ignores_other_outcomes() -> None:
    """A WARN without a message reads "warning"; other outcome properties are not warnings."""
    assert warn_message(report(props=[(OUTCOME_PROPERTY, "warn")])) == "warning"
    assert warn_message(report(props=[(OUTCOME_PROPERTY, "warn"), (MESSAGE_PROPERTY, "")])) == "warning"
    assert warn_message(report(props=[(OUTCOME_PROPERTY, "pass"), (MESSAGE_PROPERTY, "x")])) is None
    assert warn_message(report()) is None
    assert warn_message(object()) is None


def test_failed_warned_call_is_fail() -> None:
    """A check that warned and then failed is FAIL: the failure wins."""
    result = folded(report("call", "failed", crash("bad"), props=WARNED))
    assert result["outcome"] == "fail"


# -- folding the phases ------------------------------------------------------------------------


def test_worse_phase_wins_and_keeps_its_message() -> None:
    """Phases fold by rank pass < skip < warn < fail < error; the worst phase's message is kept."""
    result = folded(
        report("setup"), report("call", props=WARNED), report("teardown", "failed", crash("leaked a lock"))
    )
    assert (result["outcome"], result["message"]) == ("error", "AssertionError: leaked a lock")
    result = folded(report("setup"), report("call", "failed", crash("bad")), report("teardown"))
    assert (result["outcome"], result["message"]) == ("fail", "AssertionError: bad")
    result = folded(report("setup"), report("call", props=WARNED), report("teardown"))
    assert result["outcome"] == "warn"


def test_equal_rank_keeps_the_first_message() -> None:
    """A later phase of the same rank does not replace the first one's message."""
    result = folded(report("call", "failed", crash("first")), report("teardown", "skipped", ("f", 1, "Skipped: x")))
    assert result["message"] == "AssertionError: first"
    result = folded(
        report("setup", "failed", crash("setup broke")), report("teardown", "failed", crash("teardown broke"))
    )
    assert result["message"] == "AssertionError: setup broke"


def test_durations_add_up_and_env_and_platform_come_from_the_reports() -> None:
    """A record's duration is the sum of its phases; env and platform come from the reports' properties."""
    props = [(ENV_PROPERTY, "staging"), (PLATFORM_PROPERTY, "convex")]
    results = Results("production")
    results.add_report(report("setup", duration=0.25))
    results.add_report(report("call", duration=1.5, props=props))
    results.add_report(report("teardown", duration=0.125, props=props))
    (record,) = results.records
    assert record.duration == pytest.approx(1.875)
    assert record.platform == "convex"
    assert record.env == "production"  # the first report had no env property
    other = Results("production")
    other.add_report(report("setup", props=props))
    assert (other.records[0].env, other.records[0].platform) == ("staging", "convex")


def test_collection_errors_are_error_and_passing_collections_are_ignored() -> None:
    """A module that fails to import is one ERROR record; a collection that works adds no record."""
    results = Results("production")
    results.add_report(CollectReport("checks/test_ok.py", "passed", None, []))
    results.add_report(CollectReport("checks/test_broken.py", "failed", "ImportError: no module named x", []))
    assert [(r.id, r.outcome, r.message, r.duration) for r in results.records] == [
        ("checks/test_broken.py", "error", "ImportError: no module named x", 0.0)
    ]


def test_counts_and_warned_list() -> None:
    """counts() tallies each outcome; warned() lists exactly the WARN records in arrival order."""
    results = Results("production")
    results.add_report(report(nodeid="a", props=WARNED))
    results.add_report(report(nodeid="b", outcome="failed", longrepr=crash("x")))
    results.add_report(report(nodeid="c"))
    results.add_report(report(nodeid="d", props=WARNED))
    assert results.counts() == {"warn": 2, "fail": 1, "pass": 1}
    assert [r.id for r in results.warned()] == ["a", "d"]


# -- verdict and summaries ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "fail_on_warn", "expected"),
    [
        ({"pass": 3}, False, "PASSED"),
        ({}, False, "PASSED"),
        ({"pass": 3, "skip": 2}, False, "PASSED"),
        ({"pass": 1, "warn": 1}, False, "PASSED with warnings"),
        ({"pass": 1, "warn": 1}, True, "FAILED"),
        ({"pass": 1}, True, "PASSED"),
        ({"pass": 1, "fail": 1}, False, "FAILED"),
        ({"pass": 1, "error": 1}, False, "FAILED"),
        ({"warn": 2, "error": 1}, False, "FAILED"),
        ({"pass": 1, "fail": 0, "error": 0, "warn": 0}, False, "PASSED"),
    ],
)
def test_verdict(counts: dict[str, int], fail_on_warn: bool, expected: str) -> None:
    """FAILED on any fail or error (or warn with --fail-on-warn), PASSED with warnings on a warn, else PASSED."""
    assert verdict(counts, fail_on_warn=fail_on_warn) == expected


def test_summary_lines() -> None:
    """The summary counts passed, warned, failed always, errors and skipped when present, then the verdict line."""
    assert summary_lines({"pass": 2}, "production") == [
        "Checks (production): 2 passed, 0 warned, 0 failed",
        "✅ Verification PASSED",
    ]
    assert summary_lines({"pass": 1, "warn": 1, "skip": 3}) == [
        "Checks: 1 passed, 1 warned, 0 failed, 3 skipped",
        "⚠️  Verification PASSED with warnings",
    ]
    assert summary_lines({"fail": 1, "error": 2, "skip": 1}, "sandbox") == [
        "Checks (sandbox): 0 passed, 0 warned, 1 failed, 2 errors, 1 skipped",
        "❌ Verification FAILED",
    ]
    assert summary_lines({"warn": 1}, fail_on_warn=True)[1] == "❌ Verification FAILED"


# -- results.json ------------------------------------------------------------------------------


def test_results_document(tmp_path: Path) -> None:
    """results.json holds env, metadata, verdict, a count of every outcome and each check, rounded and ordered,
    with the check's target and platform resource ("" for a check without one)."""
    results = Results("production")
    props = [(PLATFORM_PROPERTY, "convex"), (TARGET_PROPERTY, "BACKEND"), (RESOURCE_PROPERTY, "happy-otter-123")]
    results.add_report(report(nodeid="a", duration=0.123456, props=props))
    results.add_report(report(nodeid="b", props=WARNED))
    path = results.write(tmp_path / "deep" / "results.json", config="deploycheck.yaml")
    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert json.loads(text) == {
        "env": "production",
        "config": "deploycheck.yaml",
        "verdict": "PASSED with warnings",
        "counts": {"pass": 1, "skip": 0, "warn": 1, "fail": 0, "error": 0},
        "checks": [
            {"id": "a", "env": "production", "platform": "convex", "outcome": "pass", "duration": 0.1235,
             "message": "", "target": "BACKEND", "resource": "happy-otter-123"},
            {"id": "b", "env": "production", "platform": "", "outcome": "warn", "duration": 0.0,
             "message": "certificate expires in 9 days", "target": "", "resource": ""},
        ],
    }  # fmt: skip
    assert load_results(path)["verdict"] == "PASSED with warnings"


def test_results_document_masks_secrets(tmp_path: Path) -> None:
    """A secret in a message or in the metadata never reaches results.json."""
    secret = "tok-9f8e7d6c5b4a39281706"
    saved = (set(redactor._secrets), set(redactor._short))
    redactor.add(secret)
    try:
        results = Results("production")
        results.add_report(report("call", "failed", crash(f"token {secret} refused")))
        data = results.to_dict(note=f"run with {secret}")
        path = results.write(tmp_path / "results.json")
    finally:
        redactor.clear()
        redactor.add_many([*saved[0], *saved[1]])
    assert data["note"] == f"run with {MASK}"
    assert data["checks"][0]["message"] == f"AssertionError: token {MASK} refused"
    assert secret not in path.read_text(encoding="utf-8")
    assert Redactor().redact("x") == "x"


def test_load_results_errors(tmp_path: Path) -> None:
    """A missing file, a non-JSON file and a JSON file without checks each give a clear UsageError."""
    with pytest.raises(UsageError) as missing:
        load_results(tmp_path / "nope.json")
    assert str(missing.value.problems[0]) == (
        f"{tmp_path / 'nope.json'}: cannot read: No such file or directory. Hint: Run the checks first."
    )
    bad = tmp_path / "bad.json"
    bad.write_text('{"checks": []}\n{', encoding="utf-8")
    with pytest.raises(UsageError) as broken:
        load_results(bad)
    assert broken.value.problems[0].line == 2
    assert broken.value.problems[0].message.startswith("not JSON: ")
    for body in ('{"checks": {}}', "[1]"):
        bad.write_text(body, encoding="utf-8")
        with pytest.raises(UsageError, match=r"not a deploycheck results.json \(no 'checks' list\)"):
            load_results(bad)


# -- the Markdown summary ----------------------------------------------------------------------


def test_markdown_summary_lists_what_is_not_pass() -> None:
    """The step summary has the env, the bold verdict, the counts and a row per non-passing check, pipes escaped."""
    data = {
        "env": "production",
        "checks": [
            {"id": "a", "outcome": "pass", "platform": "convex", "message": ""},
            {"id": "b|x", "outcome": "warn", "platform": "convex", "message": "slow\nvery"},
            {"id": "c", "outcome": "fail", "platform": "github-actions", "message": "a | b"},
        ],
    }
    assert render_markdown(data) == (
        "## Deployment verification: production\n\n"
        "**❌ Verification FAILED**\n\n"
        "Checks (production): 1 passed, 1 warned, 1 failed\n\n"
        "| Outcome | Check | Platform | Message |\n| --- | --- | --- | --- |\n"
        "| WARN | `b\\|x` | convex | slow very |\n"
        "| FAIL | `c` | github-actions | a \\| b |\n"
    )


def test_markdown_summary_limits_rows_and_omits_the_table_when_all_pass() -> None:
    """Past the limit one row says how many more; with every check passing there is no table."""
    checks = [{"id": f"t{i}", "outcome": "fail", "platform": "p", "message": "m"} for i in range(5)]
    text = render_markdown({"env": "e", "checks": checks}, limit=3)
    assert text.count("| FAIL |") == 3
    assert text.endswith("| … | 2 more in results.json | | |\n")
    exact = render_markdown({"env": "e", "checks": checks}, limit=5)
    assert "more in results.json" not in exact and exact.count("| FAIL |") == 5
    passing = render_markdown({"env": "e", "checks": [{"id": "a", "outcome": "pass"}]})
    assert "| Outcome |" not in passing
    assert passing.endswith("Checks (e): 1 passed, 0 warned, 0 failed\n\n")
    assert render_markdown({}).startswith("## Deployment verification: ?\n")


def test_markdown_summary_of_checks_missing_fields() -> None:
    """A results.json check without outcome, id, platform or message shows empty cells, never "None"."""
    text = render_markdown({"env": "e", "checks": [{"outcome": "fail"}, {}]})
    assert "| FAIL | `` |  |  |\n" in text
    assert "|  | `` |  |  |\n" in text
    assert "None" not in text and "NONE" not in text


def test_markdown_summary_without_env() -> None:
    """A results.json without env is titled "?" and its counts line names no environment."""
    assert render_markdown({"checks": []}) == (
        "## Deployment verification: ?\n\n**✅ Verification PASSED**\n\nChecks: 0 passed, 0 warned, 0 failed\n\n"
    )


def test_markdown_summary_default_limit_is_fifty_rows() -> None:
    """By default the step summary lists 50 notable checks and counts the rest."""
    checks = [{"id": f"t{i}", "outcome": "warn", "platform": "p", "message": "m"} for i in range(51)]
    text = render_markdown({"env": "e", "checks": checks})
    assert text.count("| WARN |") == 50
    assert text.endswith("| … | 1 more in results.json | | |\n")
    assert "more in results.json" not in render_markdown({"env": "e", "checks": checks[:50]})


def test_results_file_format(tmp_path: Path) -> None:
    """results.json is indented JSON with non-ASCII text kept as is, written into folders made on demand."""
    results = Results("production")
    results.add_report(report("call", "failed", crash("délai dépassé")))
    path = results.write(tmp_path / "a" / "b" / "results.json")
    text = path.read_text(encoding="utf-8")
    assert text.startswith('{\n  "env": "production",\n  "verdict": "FAILED",\n  "counts": {\n    "pass": 0,')
    assert "délai dépassé" in text


def test_holds_secret(tmp_path: Path) -> None:
    """holds_secret is True for text with a registered secret or a piece of one, False otherwise, asterisks included."""
    from deploycheck.report import holds_secret

    secret = "pw-7c6b5a4d3e2f1a0b"
    saved = (set(redactor._secrets), set(redactor._short))
    redactor.add(secret)
    try:
        assert holds_secret(f"login {secret}")
        assert holds_secret(secret[3:11])
        assert not holds_secret("plain text")
        assert not holds_secret("/****************** banner")
        assert not holds_secret("")
    finally:
        redactor.clear()
        redactor.add_many([*saved[0], *saved[1]])


def test_load_results_names_the_file(tmp_path: Path) -> None:
    """Every load_results problem names the file it read."""
    bad = tmp_path / "results.json"
    for body in ("{", "[]"):
        bad.write_text(body, encoding="utf-8")
        with pytest.raises(UsageError) as caught:
            load_results(bad)
        assert caught.value.problems[0].source == str(bad)
    assert str(caught.value.problems[0]) == f"{bad}: not a deploycheck results.json (no 'checks' list)."


def test_failure_with_an_empty_crash_line_uses_the_report_text() -> None:
    """When the crash line of a failure is empty, the message is the last line of the failure text."""
    longrepr = crash("x")
    longrepr.reprcrash.message = ""
    result = folded(report("call", "failed", longrepr))
    assert result["outcome"] == "fail"
    assert result["message"] == str(longrepr).strip().splitlines()[-1]
    assert result["message"]


def test_redact_tree_masks_inside_tuples() -> None:
    """Strings inside tuples (pytest's report locations, user properties) are masked like any other."""
    from deploycheck.report import redact_tree

    secret = "tok-0a1b2c3d4e5f60718293"
    saved = (set(redactor._secrets), set(redactor._short))
    redactor.add(secret)
    try:
        assert redact_tree((f"at {secret}", 3, [secret])) == (f"at {MASK}", 3, [MASK])
    finally:
        redactor.clear()
        redactor.add_many([*saved[0], *saved[1]])


def test_pytest_fail_message_loses_only_its_failed_prefix() -> None:
    """A check that calls pytest.fail("...") shows the message alone: the "Failed: " pytest puts before it goes
    (the outcome already says so), and a later "Failed:" in the message stays."""
    try:
        pytest.fail("certificate expired 3 days ago. Failed: renewal")
    except pytest.fail.Exception as exc:
        longrepr = pytest.ExceptionInfo.from_exception(exc).getrepr()
    data = folded(report("call", "failed", longrepr))
    assert data["message"] == "certificate expired 3 days ago. Failed: renewal"
