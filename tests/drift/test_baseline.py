"""The drift baseline file: loading, validation with file:line, matching and expiry."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from deploycheck.drift import DriftReport, Finding, default_baseline_path, load_baseline
from deploycheck.errors import BaselineError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "baselines"
TODAY = datetime.date(2026, 5, 1)


def finding(key: str, target: str, state: str = "value_differs", env: str = "production") -> Finding:
    return Finding(env, target, "convex", "res", key, state, False, "a", "b")  # type: ignore[arg-type]


def test_example_baseline_loads() -> None:
    """The example file loads with its entries, dates and optional env/state filters."""
    baseline = load_baseline(FIXTURES / "example.yaml")
    assert [(e.key, e.target) for e in baseline.entries] == [
        ("LEGACY_WEBHOOK_URL", "CONVEX"),
        ("LOG_LEVEL", "CLOUDFLARE_WORKER"),
    ]
    first = baseline.entries[0]
    assert first.expires == datetime.date(2099, 12, 31)
    assert first.state == "unexpected"
    assert first.line == 4


def test_entry_filters_on_state_and_env() -> None:
    """An entry with state/env only matches findings in that state and environment."""
    baseline = load_baseline(FIXTURES / "example.yaml")
    assert baseline.match(finding("LEGACY_WEBHOOK_URL", "CONVEX", "unexpected")) is not None
    assert baseline.match(finding("LEGACY_WEBHOOK_URL", "CONVEX", "missing")) is None
    assert baseline.match(finding("LOG_LEVEL", "CLOUDFLARE_WORKER", env="production")) is not None
    assert baseline.match(finding("LOG_LEVEL", "CLOUDFLARE_WORKER", env="sandbox")) is None


def test_acknowledged_finding_passes_until_expiry_then_fails() -> None:
    """A matched finding does not fail until its entry expires; after that it fails and says so."""
    baseline = load_baseline(FIXTURES / "example.yaml")
    report = DriftReport("production", "p", "sot", "deploy-prod")
    report.results = [
        finding("LEGACY_WEBHOOK_URL", "CONVEX", "unexpected"),
        finding("LOG_LEVEL", "CLOUDFLARE_WORKER"),
    ]
    report.apply_baseline(baseline, TODAY)
    webhook, log_level = report.results
    assert webhook.is_acknowledged and not webhook.fails
    assert log_level.acknowledged is not None and log_level.expired and log_level.fails
    assert report.exit_code == 1


def test_expiry_day_itself_is_still_acknowledged(tmp_path: Path) -> None:
    """The expiry date is inclusive: the finding is acknowledged on that day, failing the next."""
    path = tmp_path / "b.yaml"
    path.write_text("acknowledged:\n  - {key: K, target: T, reason: r, owner: o, expires: 2026-05-01}\n")
    entry = load_baseline(path).entries[0]
    assert not entry.is_expired(TODAY)
    assert entry.is_expired(TODAY + datetime.timedelta(days=1))


def test_unused_entries_are_reported() -> None:
    """Baseline entries that match no finding are listed so they can be removed."""
    baseline = load_baseline(FIXTURES / "example.yaml")
    report = DriftReport("production", "p", "sot", "deploy-prod")
    report.apply_baseline(baseline, TODAY)
    assert [e.key for e in report.unused_baseline] == ["LEGACY_WEBHOOK_URL", "LOG_LEVEL"]


def test_malformed_fields_report_every_problem_with_lines() -> None:
    """Missing owner, bad date, unknown state and unknown field are all reported, each with file:line."""
    with pytest.raises(BaselineError) as caught:
        load_baseline(FIXTURES / "malformed-fields.yaml")
    error = caught.value
    assert error.exit_code == 2
    text = str(error)
    source = str(FIXTURES / "malformed-fields.yaml")
    assert f"{source}:2: acknowledged[0]: missing required field 'owner'" in text
    assert f"{source}:5: acknowledged[0].expires: expires must be a date" in text
    assert f"{source}:11: acknowledged[1].state: unknown drift state 'drifted'" in text
    assert f"{source}:12: acknowledged[1].colour: unknown field 'colour'" in text
    assert len(error.problems) == 4


def test_yaml_syntax_error_names_the_line() -> None:
    """A YAML syntax error is a BaselineError with its line."""
    with pytest.raises(BaselineError) as caught:
        load_baseline(FIXTURES / "malformed-syntax.yaml")
    assert caught.value.problems[0].line is not None
    assert "not valid YAML" in str(caught.value)


def test_wrong_shape_is_rejected() -> None:
    """A top-level list instead of an 'acknowledged' mapping is rejected with the expected shape."""
    with pytest.raises(BaselineError, match="expected a mapping with an 'acknowledged' list"):
        load_baseline(FIXTURES / "malformed-shape.yaml")


def test_duplicate_entries_are_rejected() -> None:
    """Two entries for one key and target are an error pointing at the first one."""
    with pytest.raises(
        BaselineError, match=r"duplicate entry for LOG_LEVEL on CLOUDFLARE_WORKER \(first at line 2\)"
    ):
        load_baseline(FIXTURES / "duplicate.yaml")


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    """A --baseline path that does not exist is a BaselineError, not a crash."""
    with pytest.raises(BaselineError, match="cannot read the file"):
        load_baseline(tmp_path / "absent.yaml")


def test_empty_file_is_an_empty_baseline(tmp_path: Path) -> None:
    """An empty file acknowledges nothing."""
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing acknowledged\n")
    assert load_baseline(path).entries == ()


def test_default_path_is_beside_the_config(tmp_path: Path) -> None:
    """The default baseline lives beside deploycheck.yaml."""
    assert default_baseline_path(tmp_path / "deploycheck.yaml") == tmp_path / ".deploycheck-baseline.yaml"
