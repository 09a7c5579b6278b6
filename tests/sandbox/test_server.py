"""The sandbox HTTP servers: request log, injected faults, shutdown."""

from __future__ import annotations

import threading

import pytest
import requests

from deploycheck.sandbox import SERVICE_ORDER, Sandbox

pytestmark = pytest.mark.sandbox


def _secrets_url(info):
    return f"{info.cloudflare_api_base_url}/accounts/{info.cloudflare_account_id}/workers/scripts/log-ingestion/secrets"


def _auth(info):
    return {"Authorization": f"Bearer {info.cloudflare_api_token}"}


def test_every_request_is_logged_with_its_status(sandbox, sandbox_admin):
    """Each served request appears in the log with service, method, path and status."""
    requests.get(f"{sandbox.worker_url}/health", timeout=5)
    requests.get(f"{sandbox.worker_url}/nowhere", timeout=5)
    entries = sandbox_admin.requests("worker")
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("GET", "/health", 200),
        ("GET", "/nowhere", 404),
    ]
    assert all(isinstance(e["time"], float) for e in entries)


def test_writes_lists_only_non_get_requests(sandbox, sandbox_admin):
    """writes() keeps the PUT and drops the GET."""
    requests.get(_secrets_url(sandbox), headers=_auth(sandbox), timeout=5)
    requests.put(
        _secrets_url(sandbox),
        headers=_auth(sandbox),
        json={"name": "K", "text": "v", "type": "secret_text"},
        timeout=5,
    )
    assert [(w["service"], w["method"]) for w in sandbox_admin.writes()] == [("cloudflare", "PUT")]


def test_status_fault_with_retry_after_answers_a_cloudflare_envelope(sandbox, sandbox_admin):
    """A 429 fault on the Cloudflare API carries Retry-After and Cloudflare's error envelope."""
    sandbox_admin.fault(service="cloudflare", path="/secrets$", status=429, retry_after=3)
    response = requests.get(_secrets_url(sandbox), headers=_auth(sandbox), timeout=5)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    body = response.json()
    assert body["success"] is False
    assert body["errors"][0]["code"] == 971
    assert body["result"] is None


def test_fault_matches_path_regex_and_method_only(sandbox, sandbox_admin):
    """A fault limited to PUT on one path leaves GETs and other paths alone."""
    sandbox_admin.fault(service="cloudflare", path="/secrets$", method="PUT", status=500)
    assert requests.get(_secrets_url(sandbox), headers=_auth(sandbox), timeout=5).status_code == 200
    put = requests.put(
        _secrets_url(sandbox), headers=_auth(sandbox), json={"name": "K", "text": "v"}, timeout=5
    )
    assert put.status_code == 500
    assert sandbox_admin.state()["cloudflare"]["workers"]["log-ingestion"]["secrets"] == {}


def test_count_limits_how_often_a_fault_applies(sandbox, sandbox_admin):
    """A fault with count=2 fails two requests, then removes itself."""
    sandbox_admin.fault(service="worker", path="^/health$", status=503, count=2)
    statuses = [requests.get(f"{sandbox.worker_url}/health", timeout=5).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert sandbox_admin.faults() == []


def test_body_fault_is_sent_verbatim(sandbox, sandbox_admin):
    """A body fault returns the raw text, e.g. malformed JSON, with the given status."""
    sandbox_admin.fault(service="convex", body='{"environmentVariables": ', status=200)
    response = requests.get(f"{sandbox.convex_url}/api/v1/list_environment_variables", timeout=5)
    assert response.status_code == 200
    assert response.text == '{"environmentVariables": '
    with pytest.raises(ValueError):
        response.json()


def test_success_false_on_http_200_is_possible(sandbox, sandbox_admin):
    """A Cloudflare body fault can answer HTTP 200 with success false."""
    body = '{"success":false,"errors":[{"code":10013,"message":"boom"}],"messages":[],"result":null}'
    sandbox_admin.fault(service="cloudflare", body=body)
    response = requests.get(_secrets_url(sandbox), headers=_auth(sandbox), timeout=5)
    assert response.status_code == 200
    assert response.json()["success"] is False


def test_latency_fault_delays_the_answer_but_still_answers(sandbox, sandbox_admin):
    """A latency fault makes a client with a shorter timeout give up, while the server still answers."""
    sandbox_admin.fault(service="pages", latency_ms=1500, count=1)
    with pytest.raises(requests.Timeout):
        requests.get(f"{sandbox.pages_url}/", timeout=(2, 0.3))
    assert requests.get(f"{sandbox.pages_url}/", timeout=5).status_code == 200


def test_hang_fault_is_cut_by_the_client_timeout(sandbox, sandbox_admin):
    """A hanging request never answers; the client's read timeout ends it, the log records status 0."""
    sandbox_admin.fault(service="github", hang=True)
    with pytest.raises(requests.Timeout):
        requests.get(f"{sandbox.github_api_url}/repos/example/app/actions/secrets", timeout=(2, 0.5))
    assert [e["status"] for e in sandbox_admin.requests("github")] == [0]


def test_clearing_a_hang_fault_drops_the_waiting_connection(sandbox, sandbox_admin):
    """Clearing faults releases a hanging request, which then ends without an answer."""
    sandbox_admin.fault(service="worker", hang=True, count=1)
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            requests.get(f"{sandbox.worker_url}/health", timeout=(2, 30))
        except requests.RequestException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    while not sandbox_admin.requests("worker"):
        threading.Event().wait(0.05)
    sandbox_admin.clear_faults()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert len(outcome) == 1
    assert isinstance(outcome[0], requests.ConnectionError)


def test_health_fault_only_changes_the_worker_health(sandbox, sandbox_admin):
    """A health fault makes /health report unhealthy with 503 while other routes work."""
    sandbox_admin.fault(service="worker", health="unhealthy")
    response = requests.get(f"{sandbox.worker_url}/health", timeout=5)
    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy"
    assert requests.get(f"{sandbox.worker_url}/logs", timeout=5).status_code == 200


def test_stop_returns_while_a_request_hangs():
    """Stopping a sandbox releases hanging requests instead of waiting for them."""
    box = Sandbox()
    info = box.start()
    box.faults.add({"service": "pages", "hang": True})
    errors: list[BaseException] = []

    def call() -> None:
        try:
            requests.get(f"{info.pages_url}/", timeout=(2, 60))
        except requests.RequestException as exc:
            errors.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    while not box.log.entries():
        threading.Event().wait(0.05)
    box.stop()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert errors


def test_fixed_port_binds_consecutive_ports_in_service_order():
    """Sandbox(port=N) puts cloudflare on N, github on N+1, ... admin on N+5."""
    probe = Sandbox()
    probe.start()
    base = int(probe.info.pages_url.rsplit(":", 1)[1]) + 100
    probe.stop()
    try:
        with Sandbox(port=base) as info:
            ports = [
                info.cloudflare_api_base_url.split(":")[2].split("/")[0],
                info.github_api_url.rsplit(":", 1)[1],
                info.convex_url.rsplit(":", 1)[1],
                info.pages_url.rsplit(":", 1)[1],
                info.worker_url.rsplit(":", 1)[1],
                info.admin_url.rsplit(":", 1)[1],
            ]
            assert [int(p) for p in ports] == [base + i for i in range(len(SERVICE_ORDER))]
    except OSError:
        pytest.skip("the probed port range was taken meanwhile")


def test_environ_names_every_vendor_variable(sandbox):
    """SandboxInfo.environ() has the variables deploycheck and the vendor CLIs read."""
    env = sandbox.environ()
    assert env["APP_URL"] == sandbox.pages_url
    assert env["CLOUDFLARE_ACCOUNT_ID"] == sandbox.cloudflare_account_id
    assert env["CONVEX_SELF_HOSTED_URL"] == env["CONVEX_URL"] == sandbox.convex_url
    assert env["CONVEX_SELF_HOSTED_ADMIN_KEY"].startswith("prod-graceful-shrimp-355|")
    assert sandbox.convex_deploy_key == "prod:" + env["CONVEX_SELF_HOSTED_ADMIN_KEY"]
    # no CONVEX_DEPLOY_KEY: the Convex CLI would prefer it and go to Convex's cloud
    assert set(env) == {
        "CLOUDFLARE_API_BASE_URL", "CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID", "GITHUB_API_URL",
        "GITHUB_TOKEN", "GITHUB_REPOSITORY", "CONVEX_URL", "CONVEX_SELF_HOSTED_URL",
        "CONVEX_SELF_HOSTED_ADMIN_KEY", "APP_URL", "WORKER_URL", "DEPLOYCHECK_SANDBOX_ADMIN_URL",
        "WRANGLER_SEND_METRICS",
    }
