"""Collection is offline, every platform read happens once per run, and the request chains run concurrently.

All through the sandbox's own request log (``GET /requests`` of its admin API).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: the example checks' platform API and data-plane reads (path suffixes; ids vary by run)
READS = (
    ("cloudflare", "GET", "/pages/projects/app-web"),
    ("cloudflare", "GET", "/workers/scripts/log-ingestion/deployments"),
    ("cloudflare", "GET", "/workers/scripts/log-ingestion/settings"),
    ("cloudflare", "GET", "/workers/scripts/log-ingestion/versions"),
    ("convex", "GET", "/api/v1/deployment_info"),
    ("convex", "GET", "/api/v1/list_environment_variables"),
    ("convex", "GET", "/instance_name"),
    ("github", "GET", "/repos/example/app/environments/production/secrets"),
    ("github", "GET", "/repos/example/app/environments/production/variables"),
    ("pages", "GET", "/"),
    ("worker", "GET", "/health"),
)


def _log(sandbox_admin) -> Counter[tuple[str, str, str]]:
    return Counter((e["service"], e["method"], e["path"].split("?")[0]) for e in sandbox_admin.requests())


def test_collect_only_makes_no_request(run_checks, sandbox_admin) -> None:
    """``pytest --env=sandbox --collect-only`` collects every check and asks no platform anything."""
    sandbox_admin.clear_requests()
    run = run_checks("--collect-only", "-q")
    assert run.returncode == 0, run.output
    assert "test_no_drift[sandbox-CONVEX-APP_ENV]" in run.output
    assert "test_integration_chain[sandbox-worker-log-roundtrip]" in run.output
    assert sandbox_admin.requests() == []


#: run pytest's collection in this process with Sandbox.start replaced by a recorder
COLLECT_ONLY = """
import json, os, sys
import pytest
from deploycheck.sandbox import Sandbox

started = []
Sandbox.start = lambda self, *a, **k: started.append(1) or (_ for _ in ()).throw(SystemExit("started"))
code = pytest.main(["--env=sandbox", "--collect-only", "-q", "-p", "no:cacheprovider", "checks"])
print("RESULT", json.dumps({"code": int(code), "started": len(started),
                            "admin": os.environ.get("DEPLOYCHECK_SANDBOX_ADMIN_URL")}))
"""


def test_collect_only_starts_no_sandbox(tmp_path) -> None:
    """With no sandbox running, ``--env=sandbox --collect-only`` collects without starting (or syncing) one."""
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DEPLOYCHECK_", "CLOUDFLARE_", "GITHUB_", "CONVEX_", "PYTEST_"))
        and k not in ("APP_URL", "WORKER_URL")
    }
    environ["DEPLOYCHECK_STATE_DIR"] = str(tmp_path / "state")
    done = subprocess.run(
        [sys.executable, "-c", COLLECT_ONLY], cwd=REPO, env=environ, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line is not None, done.stdout + done.stderr
    result = json.loads(line.removeprefix("RESULT "))
    assert result == {"code": 0, "started": 0, "admin": None}, done.stdout + done.stderr
    assert "test_no_drift[sandbox-CONVEX-APP_ENV]" in done.stdout
    assert not (tmp_path / "state").exists(), "collection wrote sync state"


def test_a_run_reads_each_endpoint_once(run_checks, sandbox_admin) -> None:
    """A full run of the example checks reads every config endpoint exactly once; the chains add their own steps.

    The config checks, the drift checks and the data-plane checks share each read: 11
    endpoints read once each, Worker versions once more for the newest version's detail,
    Convex's sync once for the function spec, and the two chains' OPTIONS, 2 POST, 2 GET /logs.
    """
    sandbox_admin.clear_requests()
    run = run_checks()
    assert run.returncode == 0, run.output
    log = _log(sandbox_admin)
    for service, method, suffix in READS:
        hits = {path: n for (s, m, path), n in log.items() if s == service and m == method and path.endswith(suffix)}
        assert list(hits.values()) == [1], (service, method, suffix, hits)
    version_details = [n for (s, _, p), n in log.items() if s == "cloudflare" and "/versions/" in p]
    assert version_details == [1], log
    assert [n for (s, _, p), n in log.items() if s == "convex" and p.endswith("/sync")] == [1], log
    logs = {m: n for (s, m, p), n in log.items() if s == "worker" and p == "/logs"}
    assert logs == {"OPTIONS": 1, "POST": 2, "GET": 2}, log
    assert sum(log.values()) == len(READS) + 2 + 5, log


def test_the_chains_do_not_wait_for_each_other(run_checks, sandbox_admin) -> None:
    """The log round trip (collected first) and the integration chain run concurrently.

    With the round trip's CORS preflight delayed by 1.5 s, the integration chain's POST and
    GET are served before the preflight is: one after the other, the chain would start only
    after the round trip's last step.
    """
    sandbox_admin.fault(service="worker", path="^/logs$", method="OPTIONS", latency_ms=1500)
    sandbox_admin.clear_requests()
    run = run_checks("-k", "accepts_app_logs or integration_chain")
    assert run.returncode == 0, run.output
    assert "2 passed" in run.output, run.output
    served = [
        e["method"] for e in sorted(sandbox_admin.requests(), key=lambda e: e["time"])
        if e["service"] == "worker" and e["path"].split("?")[0] == "/logs"
    ]  # fmt: skip
    assert served[:3] == ["POST", "GET", "OPTIONS"], served
    assert sorted(served) == ["GET", "GET", "OPTIONS", "POST", "POST"], served
