"""The Worker data plane during a split deployment: even shares, version faults, the request log."""

from __future__ import annotations

from collections import Counter

import pytest
import requests

from deploycheck.sandbox.dataplane import VERSION_HEADER
from deploycheck.sandbox.split import TrafficSplitter

pytestmark = pytest.mark.sandbox

#: requests sent through each split in these tests
REQUESTS = 100


def split(cf, old_share: float) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """Deploy the two newest seeded versions as (older old_share %, newer the rest); their ids."""
    versions = sorted(cf.versions(), key=lambda v: v["number"])
    old, new = versions[-2]["id"], versions[-1]["id"]
    body = {
        "strategy": "percentage",
        "versions": [
            {"version_id": old, "percentage": old_share},
            {"version_id": new, "percentage": 100 - old_share},
        ],
    }
    cf.result("POST", f"{cf.script()}/deployments", json=body)
    return old, new


def served(sandbox, count: int, **headers: str) -> Counter[str]:  # type: ignore[no-untyped-def]
    """Which version answered each of ``count`` /health requests."""
    seen: Counter[str] = Counter()
    with requests.Session() as session:
        for _ in range(count):
            seen[session.get(f"{sandbox.worker_url}/health", headers=headers, timeout=5).headers[VERSION_HEADER]] += 1
    return seen


def test_the_golden_ratio_draws_give_every_run_its_share() -> None:
    """Any 100 consecutive draws put 10 (within 2) under 0.1: the split is exact, not probable."""
    splitter = TrafficSplitter()
    draws = [splitter.draw() for _ in range(1000)]
    for start in range(0, 900, 100):
        window = draws[start : start + 100]
        assert abs(sum(1 for d in window if d < 0.1) - 10) <= 2
    assert all(0 <= d < 1 for d in draws)


def test_a_split_serves_each_version_its_percentage_and_logs_who_served(sandbox, cf, sandbox_admin) -> None:
    """A 90/10 split serves 10 (within 2) of 100 requests from the 10 % version; the request log
    records the version of each, and pinned requests as pinned."""
    old, new = split(cf, 90)
    sandbox_admin.clear_requests()

    seen = served(sandbox, REQUESTS)
    pinned = served(sandbox, 5, **{"Cloudflare-Workers-Version-Overrides": f'log-ingestion="{new}"'})

    assert abs(seen[new] - 10) <= 2 and seen[old] + seen[new] == REQUESTS
    assert pinned == Counter({new: 5})
    log = [e for e in sandbox_admin.requests("worker") if e["path"] == "/health"]
    assert Counter(e["version"] for e in log if not e["pinned"]) == seen
    assert [e["version"] for e in log if e["pinned"]] == [new] * 5


def test_a_version_fault_hits_only_that_version(sandbox, cf, sandbox_admin) -> None:
    """An unhealthy fault on one version makes only its /health answers 503; the other stays healthy."""
    old, new = split(cf, 50)
    sandbox_admin.fault(service="worker", version=new, health="unhealthy")
    with requests.Session() as session:
        for _ in range(20):
            response = session.get(f"{sandbox.worker_url}/health", timeout=5)
            version = response.headers[VERSION_HEADER]
            assert response.status_code == (503 if version == new else 200), version
    statuses = {(e["version"], e["status"]) for e in sandbox_admin.requests("worker")}
    assert statuses == {(new, 503), (old, 200)}


def test_a_version_error_rate_and_latency_apply_to_their_share(sandbox, cf, sandbox_admin) -> None:
    """rate 0.5 with status 500 fails every second request of the version; latency_ms slows only it."""
    old, new = split(cf, 50)
    sandbox_admin.fault(service="worker", version=new, status=500, rate=0.5)
    sandbox_admin.fault(service="worker", version=old, latency_ms=60)
    pin = "Cloudflare-Workers-Version-Overrides"
    with requests.Session() as session:
        fresh = [session.get(f"{sandbox.worker_url}/health", headers={pin: f'log-ingestion="{new}"'}, timeout=5)
                 for _ in range(10)]
        stale = [session.get(f"{sandbox.worker_url}/health", headers={pin: f'log-ingestion="{old}"'}, timeout=5)
                 for _ in range(3)]
    assert [r.status_code for r in fresh] == [200, 500] * 5
    assert all(r.headers[VERSION_HEADER] == new for r in fresh)
    assert all(r.status_code == 200 and r.elapsed.total_seconds() >= 0.06 for r in stale)


@pytest.mark.parametrize(
    "spec",
    [
        {"service": "cloudflare", "version": "abc", "status": 500},
        {"service": "worker", "version": "abc", "hang": True},
        {"service": "worker", "status": 500, "rate": 0},
        {"service": "worker", "status": 500, "rate": 1.5},
    ],
    ids=["not-worker", "hang", "rate-zero", "rate-above-one"],
)
def test_invalid_version_and_rate_faults_are_refused(sandbox, spec) -> None:
    """A version fault on another service or that hangs, and a rate outside (0, 1], answer 400."""
    response = requests.post(f"{sandbox.admin_url}/faults", json=spec, timeout=5)
    assert response.status_code == 400
    assert response.json()["error"]
