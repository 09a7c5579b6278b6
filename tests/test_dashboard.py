"""The dashboard HTML (without a browser): banner class, one chip per check, escaping, redaction, drift text."""

from __future__ import annotations

from deploycheck.redact import register_secret
from deploycheck.report import CheckRecord, DriftRow, TargetRow, group_causes, render_dashboard, verdict_class


def record(name: str, outcome: str, message: str = "", target: str = "WEB", column: str = "pages") -> CheckRecord:
    return CheckRecord(id=f"checks/test_{column}.py::{name}[prod-app]", env="prod", platform="cloudflare-pages",
                       outcome=outcome, duration=0.0, message=message, target=target, resource="app")  # type: ignore[arg-type]  # fmt: skip


def render(records, drift=()):
    targets = [TargetRow("WEB", "cloudflare-pages", "app", ("Cloudflare dashboard", "https://dash.cloudflare.com/a/pages/view/app"))]
    return render_dashboard(env="prod", verdict="FAILED", records=records, targets=targets,
                            causes=group_causes(records), drift=list(drift))  # fmt: skip


def test_one_chip_per_check_with_its_outcome_and_message() -> None:
    """Each check is one chip in its target's row, coloured by outcome, its message in title and data."""
    page = render([record("test_pages_answers", "pass"), record("test_pages_marker", "fail", "no marker")])
    assert page.count('class="dc-chip ') == 2
    assert 'data-outcome="fail"' in page and 'title="FAIL: no marker"' in page
    assert 'data-target="WEB"' in page
    assert "&#104;&#116;&#116;&#112;&#115;" in page  # the console link, as character references


def test_messages_are_escaped_and_redacted() -> None:
    """Markup in a message is shown, not run; a registered secret is masked in the page."""
    register_secret("s3cr3t-value-for-dashboard")
    page = render([record("test_pages_x", "fail", "<script>alert(1)</script> s3cr3t-value-for-dashboard")])
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;" in page
    assert "s3cr3t-value-for-dashboard" not in page


def test_drift_section_says_what_it_knows() -> None:
    """Findings make a table; failed drift checks without findings say drift is unknown, never "no drift"."""
    drift = [DriftRow("CONVEX", "APP_ENV", "value_differs", "a", "b", "deploycheck sync-env ... --yes")]
    assert "value_differs" in render([record("test_no_drift", "fail", column="drift")], drift)
    unknown = render([record("test_no_drift", "error", "cannot read", column="drift")])
    assert "Drift unknown: 1 drift check could not compare" in unknown
    assert "No drift:" in render([record("test_no_drift", "pass", column="drift")])
    assert "Drift was not checked" in render([record("test_pages_answers", "pass")])


def test_verdict_classes() -> None:
    """Each verdict has its banner class."""
    assert [verdict_class(v) for v in ("PASSED", "PASSED with warnings", "FAILED")] == ["passed", "warned", "failed"]
