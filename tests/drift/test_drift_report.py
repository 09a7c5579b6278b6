"""Rendering drift reports: JSON shape, text and Markdown forms, exit-code precedence."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from deploycheck.drift import (
    Baseline,
    BaselineEntry,
    DriftReport,
    Finding,
    Note,
    TargetError,
    TargetSummary,
    render,
    render_json,
    render_markdown,
    render_text,
    report_dict,
)
from deploycheck.redact import fingerprint

TODAY = datetime.date(2026, 5, 1)


def sample() -> DriftReport:
    report = DriftReport("production", "app.example.com", "/sot/app.env", "deploy-prod")
    report.results = [
        Finding("production", "CONVEX", "convex", "prod-x", "APP_ENV", "in_sync", False, "production", "production"),
        Finding(
            "production", "CONVEX", "convex", "prod-x", "APP_URL", "value_differs", False,
            "https://a|b", "https://c", "changed.", "write it", "deploycheck sync-env --only APP_URL",
        ),
        Finding(
            "production", "GITHUB", "github-actions", "example/app:production", "TOKEN", "unverifiable", True,
            fingerprint("x" * 20), "(write-only, present)", "no ledger.", "run a sync once", "deploycheck sync-env",
        ),
        Finding("production", "GITHUB", "github-actions", "r", "OLD", "unexpected", False, "(not in the SoT)", "1"),
    ]  # fmt: skip
    report.notes = [Note("CLOUDFLARE_WORKER", "cloudflare-worker", "version changed")]
    report.targets = [TargetSummary("CONVEX", "convex", "prod-x", 2, 2, 1)]
    return report


def test_json_shape() -> None:
    """The JSON document (format_version 1) lists findings (not in-sync results), a summary by state, notes, errors, targets."""
    data = json.loads(render_json(sample()))
    assert data["format_version"] == 1
    assert set(data) == {
        "format_version", "env", "project", "sot", "mode", "baseline", "exit_code", "drift", "summary",
        "findings", "notes", "errors", "targets", "unused_baseline",
    }  # fmt: skip
    assert data["summary"] == {
        "compared": 4, "in_sync": 1, "findings": 3, "failing": 2, "acknowledged": 0, "errors": 0,
        "by_state": {"unexpected": 1, "unverifiable": 1, "value_differs": 1},
    }  # fmt: skip
    assert [f["key"] for f in data["findings"]] == ["APP_URL", "TOKEN", "OLD"]
    assert data["findings"][1]["fails"] is False
    assert data["exit_code"] == 1 and data["drift"] is True
    assert data["targets"][0]["requests"] == 1


def test_text_labels_each_finding_with_its_status() -> None:
    """Text output shows FAIL for drift, WARN for unverifiable, and the action line."""
    text = render_text(sample())
    assert "[FAIL] CONVEX (convex prod-x) APP_URL: VALUE DIFFERS" in text
    assert "[WARN] GITHUB (github-actions example/app:production) TOKEN: UNVERIFIABLE" in text
    assert "action:   write it" in text
    assert "[NOTE] CLOUDFLARE_WORKER (cloudflare-worker): version changed" in text
    assert "APP_ENV" not in text


def test_markdown_escapes_pipes_and_shows_commands() -> None:
    """Markdown cells escape '|' and show the remediation command as code."""
    md = render_markdown(sample())
    assert md.startswith("## ❌ Configuration drift: `production`")
    assert "https://a\\|b" in md
    assert "`deploycheck sync-env --only APP_URL`" in md


def test_acknowledged_and_expired_are_labelled() -> None:
    """An acknowledged finding reads ACKNOWLEDGED; an expired acknowledgement reads FAIL and says expired."""
    report = sample()
    entries = (
        BaselineEntry("APP_URL", "CONVEX", "migration", "web-team", datetime.date(2026, 6, 1), 3),
        BaselineEntry("OLD", "GITHUB", "cleanup", "ops", datetime.date(2026, 4, 1), 9),
    )
    report.apply_baseline(Baseline(path=Path("b.yaml"), entries=entries), TODAY)
    text = render(report, "text")
    assert "[ACKNOWLEDGED] CONVEX (convex prod-x) APP_URL" in text
    assert "acknowledged by web-team (migration); expires 2026-06-01 (baseline line 3)" in text
    assert "[FAIL (acknowledgement expired)] GITHUB (github-actions r) OLD" in text
    data = report_dict(report)
    assert data["summary"]["acknowledged"] == 1
    assert data["exit_code"] == 1


def test_exit_code_precedence() -> None:
    """Bad input (2) outranks an unreadable platform (3), which outranks drift (1)."""
    report = sample()
    assert report.exit_code == 1
    report.errors = [TargetError("GITHUB", "github-actions", "r", "HTTP 500")]
    assert report.exit_code == 3
    report.errors.append(
        TargetError("CONVEX", "convex", "", "CONVEX_DEPLOY_KEY is not set", "ConfigError", 2)
    )
    assert report.exit_code == 2
    clean = DriftReport("production", "p", "s", "deploy-prod")
    assert clean.exit_code == 0
    assert "no drift" in render_text(clean)
