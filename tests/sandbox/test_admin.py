"""The sandbox admin API: info, requests, faults, state, reset."""

from __future__ import annotations

import pytest
import requests

from deploycheck.redact import fingerprint
from deploycheck.sandbox.faults import parse_fault

pytestmark = pytest.mark.sandbox


def test_info_is_the_json_line(sandbox, sandbox_admin):
    """GET /info has every SandboxInfo field plus env."""
    info = sandbox_admin.info()
    assert {k: v for k, v in info.items() if k != "env"} == sandbox.as_dict()
    assert info["env"] == sandbox.environ()


def test_request_log_can_be_cleared(sandbox, sandbox_admin):
    """DELETE /requests empties the log."""
    requests.get(f"{sandbox.pages_url}/", timeout=5)
    assert len(sandbox_admin.requests()) == 1
    sandbox_admin.clear_requests()
    assert sandbox_admin.requests() == []


def test_admin_requests_are_not_logged(sandbox, sandbox_admin):
    """Admin calls themselves never appear in the request log."""
    sandbox_admin.state()
    sandbox_admin.faults()
    assert sandbox_admin.requests() == []


@pytest.mark.parametrize(
    "spec",
    [
        {"service": "nowhere", "status": 500},
        {"service": "cloudflare", "status": 999},
        {"service": "cloudflare", "path": "("},
        {"service": "cloudflare", "health": "degraded"},
        {"service": "worker", "count": 0},
        {"service": "worker", "colour": "red"},
    ],
    ids=["service", "status", "regex", "health-not-worker", "count", "unknown-key"],
)
def test_invalid_faults_are_refused(sandbox, spec):
    """A malformed fault answers 400 and is not added."""
    response = requests.post(f"{sandbox.admin_url}/faults", json=spec, timeout=5)
    assert response.status_code == 400
    assert response.json()["error"]
    assert requests.get(f"{sandbox.admin_url}/faults", timeout=5).json() == []


def test_a_fault_spec_names_its_unknown_keys_and_service_in_one_message():
    """parse_fault names the unknown keys with the valid ones, and an unknown service with
    the known ones, in one ValueError."""
    with pytest.raises(ValueError) as caught:
        parse_fault({"service": "nowhere", "colour": "red", "status": 500}, "fault-1")
    text = str(caught.value)
    assert "unknown keys ['colour']; valid keys: ['ack', 'body', " in text
    assert "service must be one of ['cloudflare', 'github', 'convex', 'pages', 'worker'], got 'nowhere'" in text


def test_faults_are_listed_and_cleared(sandbox_admin):
    """POST /faults returns an id, GET lists it, DELETE removes every fault."""
    fault_id = sandbox_admin.fault(service="github", status=502, path="/secrets")
    assert [f["id"] for f in sandbox_admin.faults()] == [fault_id]
    sandbox_admin.clear_faults()
    assert sandbox_admin.faults() == []


def test_state_has_every_platform_with_decrypted_secrets(cf, sandbox_admin):
    """GET /state covers cloudflare, github and convex; Cloudflare secrets are readable there."""
    cf.put_secret("UPSTASH_REDIS_REST_TOKEN", "token-value")
    state = sandbox_admin.state()
    assert set(state) == {"cloudflare", "github", "convex"}
    secrets = state["cloudflare"]["workers"]["log-ingestion"]["secrets"]
    assert fingerprint(secrets["UPSTASH_REDIS_REST_TOKEN"]) == fingerprint("token-value")
    assert state["cloudflare"]["account_id"] == cf.info.cloudflare_account_id


def test_reset_restores_the_seed_and_clears_faults_and_log(cf, sandbox_admin):
    """POST /reset undoes changes, removes faults and empties the request log."""
    seeded = sandbox_admin.state()
    cf.put_secret("A", "1")
    sandbox_admin.fault(service="pages", status=500)
    sandbox_admin.reset()
    assert sandbox_admin.faults() == []
    assert sandbox_admin.requests() == []
    after = sandbox_admin.state()["cloudflare"]["workers"]["log-ingestion"]
    assert after["secrets"] == {}
    assert after["versions"] == seeded["cloudflare"]["workers"]["log-ingestion"]["versions"]


def test_unknown_admin_route(sandbox):
    """An unknown admin route answers 404 listing the routes."""
    response = requests.get(f"{sandbox.admin_url}/nope", timeout=5)
    assert response.status_code == 404
    assert "/faults" in response.json()["error"]
