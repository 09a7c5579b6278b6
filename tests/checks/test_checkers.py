"""The pass/warn/fail decisions of the Pages, Worker and Convex checks, on plain data."""

from __future__ import annotations

import pytest

from deploycheck.config import load_config
from deploycheck.platforms.base import Deployment
from deploycheck.verify import HealthResult, PageResult, Polled, checkers

W = "cloudflare-worker log-ingestion"


def health(status: str = "healthy", **data: object) -> HealthResult:
    body = {
        "status": status,
        "version": "v3",
        "state_version": 2,
        "expected_state_version": 2,
        "reason": None,
    }
    body.update(data)
    return HealthResult(
        url="https://w.example/health", http_status=503 if status == "unhealthy" else 200, data=body
    )


@pytest.mark.parametrize(
    ("status", "outcome"),
    [("healthy", "pass"), ("degraded", "warn"), ("unhealthy", "fail"), ("starting", "fail")],
)
def test_worker_health_outcomes(status: str, outcome: str) -> None:
    """healthy passes, degraded warns, anything else fails."""
    assert checkers.worker_health(health(status, reason="redis slow"), W).outcome == outcome


def test_worker_health_message_carries_reason_and_status() -> None:
    """An unhealthy answer's message names the status, the HTTP code and the Worker's reason."""
    verdict = checkers.worker_health(health("unhealthy", reason="redis is unreachable"), W)
    assert "unhealthy (HTTP 503)" in verdict.message
    assert "redis is unreachable" in verdict.message


def test_worker_health_unreachable_fails() -> None:
    """No answer at all fails with the probe's error."""
    result = HealthResult(
        url="http://127.0.0.1:1/health", http_status=None, error="connection refused or reset"
    )
    verdict = checkers.worker_health(result, W)
    assert verdict.outcome == "fail"
    assert "no answer" in verdict.message
    assert "connection refused" in verdict.message


@pytest.mark.parametrize(("state", "expected", "outcome"), [(2, 2, "pass"), (3, 2, "warn"), (1, 2, "fail")])
def test_state_version(state: int, expected: int, outcome: str) -> None:
    """State equal passes, newer than the code warns (rollback), older fails (migration not run)."""
    verdict = checkers.worker_state_version(
        health(state_version=state, expected_state_version=expected), None, W
    )
    assert verdict.outcome == outcome
    if outcome == "fail":
        assert "migration not run" in verdict.message
    if outcome == "warn":
        assert "newer" in verdict.message


def test_state_version_config_override() -> None:
    """checks.worker.expected_state_version overrides what the code reports."""
    assert checkers.worker_state_version(health(state_version=2), 3, W).outcome == "fail"


def _dep(
    id_: str, version: str, *, active: bool = False, message: str | None = None, by: str = "upload"
) -> Deployment:
    return Deployment(
        id=id_,
        created_on="",
        active=active,
        versions=((version, 100.0),),
        message=message,
        extra={"triggered_by": by},
    )


def test_active_deployment_newest_passes() -> None:
    """The active deployment serving the newest version passes."""
    deployments = [_dep("d2", "v2", active=True), _dep("d1", "v1")]
    assert checkers.worker_active_deployment(deployments, "v2", W).outcome == "pass"


@pytest.mark.parametrize(
    ("message", "by"), [("Rollback", "api"), (None, "rollback"), ("rollback to v1", "api")]
)
def test_active_deployment_rollback_warns(message: str | None, by: str) -> None:
    """An older active version deployed as a rollback warns "rollback in effect"."""
    deployments = [_dep("d3", "v1", active=True, message=message, by=by), _dep("d2", "v2")]
    verdict = checkers.worker_active_deployment(deployments, "v2", W)
    assert verdict.outcome == "warn"
    assert "rollback in effect" in verdict.message


def test_active_deployment_older_without_rollback_fails() -> None:
    """An older active version that no rollback explains fails."""
    deployments = [_dep("d3", "v1", active=True, message="deploy"), _dep("d2", "v2")]
    assert checkers.worker_active_deployment(deployments, "v2", W).outcome == "fail"


def test_active_deployment_split_warns() -> None:
    """A gradual (split) deployment warns and names the split."""
    split = Deployment(id="d", created_on="", active=True, versions=(("v1", 90.0), ("v2", 10.0)))
    verdict = checkers.worker_active_deployment([split], "v2", W)
    assert verdict.outcome == "warn"
    assert "v1 90%" in verdict.message


def test_worker_version_against_api_and_expectation() -> None:
    """The reported version must equal the API's active version and the expected one; nothing to compare skips."""
    h = health()
    assert (
        checkers.expected_worker_version(h, api_version="v3", api_note=None, expected=None, where=W).outcome
        == "pass"
    )
    assert (
        checkers.expected_worker_version(h, api_version="v2", api_note=None, expected=None, where=W).outcome
        == "fail"
    )
    assert (
        checkers.expected_worker_version(h, api_version=None, api_note="x", expected="v9", where=W).outcome
        == "fail"
    )
    skipped = checkers.expected_worker_version(
        h, api_version=None, api_note="no token", expected=None, where=W
    )
    assert skipped.outcome == "skip"
    assert "no token" in skipped.message


@pytest.mark.parametrize(("ms", "outcome"), [(100, "pass"), (2000, "warn"), (6000, "fail")])
def test_response_time_thresholds(ms: float, outcome: str) -> None:
    """Under warn passes, between warn and fail warns, over fail fails."""
    assert checkers.response_time(ms, 1500, 5000, "https://app").outcome == outcome


def page(body: str, status: int = 200) -> PageResult:
    return PageResult(url="https://app.example.com/", status=status, body=body)


def test_content_marker() -> None:
    """The marker present passes; absent fails naming the marker and a next step; none configured skips."""
    marker = 'data-app="app.example.com"'
    assert checkers.content_marker(page(f"<div {marker}>"), marker, "p").outcome == "pass"
    missing = checkers.content_marker(page("<div>"), marker, "cloudflare-pages app-web")
    assert missing.outcome == "fail"
    assert marker in missing.message
    assert "Next step" in missing.message
    assert checkers.content_marker(page(""), None, "p").outcome == "skip"


def test_served_deployment_compares_meta_with_api() -> None:
    """The deploycheck-deployment meta must name the API's active deployment; no meta skips."""
    html = '<html><head><meta name="deploycheck-deployment" content="abc"></head></html>'
    active = Deployment(id="abc", created_on="", active=True)
    other = Deployment(id="def", created_on="", active=True)
    assert checkers.served_deployment(page(html), active, "p").outcome == "pass"
    assert checkers.served_deployment(page(html), other, "p").outcome == "fail"
    assert checkers.served_deployment(page("<html></html>"), active, "p").outcome == "skip"


def test_expected_pages_deployment() -> None:
    """A commit prefix or deployment id matching the active deployment passes; a different one fails."""
    active = Deployment(id="dep1", created_on="", active=True, commit="abcdef123456")
    ok = checkers.expected_pages_deployment(active, commit="abcdef1", deployment_id=None, where="p")
    assert ok.outcome == "pass"
    wrong = checkers.expected_pages_deployment(active, commit="fffffff", deployment_id="dep2", where="p")
    assert wrong.outcome == "fail"
    assert "dep2" in wrong.message
    assert "fffffff" in wrong.message
    assert (
        checkers.expected_pages_deployment(active, commit=None, deployment_id=None, where="p").outcome
        == "skip"
    )


def test_certificate() -> None:
    """http skips, few days left warns, expired or unreadable fails, plenty passes."""
    assert checkers.certificate("http://x", None, None, 14, "p").outcome == "skip"
    assert checkers.certificate("https://x", 5, None, 14, "p").outcome == "warn"
    assert checkers.certificate("https://x", -1, None, 14, "p").outcome == "fail"
    assert checkers.certificate("https://x", None, "SSLError", 14, "p").outcome == "fail"
    assert checkers.certificate("https://x", 60, None, 14, "p").outcome == "pass"


def test_convex_identity_refuses_dev_in_remote_env() -> None:
    """A dev deployment, or another deployment than configured, fails a remote environment's check."""
    prod = {"kind": "cloud", "deploymentType": "prod"}
    dev = {"kind": "cloud", "deploymentType": "dev"}
    ok = checkers.convex_identity("prod-a-1", prod, expected="prod-a-1", remote=True, where="c")
    assert ok.outcome == "pass"
    other = checkers.convex_identity("prod-b-2", prod, expected="prod-a-1", remote=True, where="c")
    assert other.outcome == "fail"
    dev_in_prod = checkers.convex_identity("dev-a-1", dev, expected="dev-a-1", remote=True, where="c")
    assert dev_in_prod.outcome == "fail"
    assert "dev deployment" in dev_in_prod.message
    assert (
        checkers.convex_identity("dev-a-1", dev, expected="dev-a-1", remote=False, where="c").outcome
        == "pass"
    )


def test_convex_functions_match_spec_identifiers() -> None:
    """ "messages:list" matches the spec identifier "messages.js:list"; a missing function fails by name."""
    spec = ["messages.js:list", "messages.js:send", "GET /health"]
    assert checkers.convex_functions(spec, ["messages:list", "messages:send"], "c").outcome == "pass"
    missing = checkers.convex_functions(spec, ["messages:list", "logs:ingest"], "c")
    assert missing.outcome == "fail"
    assert "logs:ingest" in missing.message


def test_polled_pass_after_retries_warns() -> None:
    """A pass that took more than one attempt becomes WARN "passed after N attempts"; a first-try pass stays."""
    verdict = checkers.Verdict("pass", "ok")
    assert checkers.polled(Polled(None, True, 1), verdict).outcome == "pass"
    warned = checkers.polled(Polled(None, True, 3), verdict)
    assert warned.outcome == "warn"
    assert "passed after 3 attempts" in warned.message
    assert checkers.polled(Polled(None, False, 5), checkers.Verdict("fail", "x")).outcome == "fail"


def test_checks_settings_from_repository_config() -> None:
    """The repository's checks: section reads into typed settings with its thresholds and chain."""
    settings = checkers.ChecksSettings.from_config(load_config())
    assert settings.pages.marker == 'data-app="app.example.com"'
    assert settings.worker.health_path == "/health"
    assert "messages:list" in settings.convex.functions
    assert settings.poll.deadline_s == 10
    assert settings.integration[0]["name"] == "worker-log-roundtrip"
