"""`wrangler versions upload|deploy|secret` against the sandbox's Workers API, and split serving.

Each test runs the real wrangler in a temporary copy of fixtures/example/worker; the data
plane then answers from the versions the deployment names.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from deploycheck.config import load_config
from deploycheck.platforms import open_target
from deploycheck.redact import fingerprint, register_secret
from deploycheck.sandbox import SandboxInfo
from deploycheck.sandbox.admin import AdminClient
from deploycheck.sandbox.dataplane import VERSION_HEADER

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "deploycheck.yaml"
WranglerRun = Callable[..., subprocess.CompletedProcess[str]]

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

_UPLOADED = re.compile(r"Worker Version ID: ([0-9a-f-]{36})")
_CREATED = re.compile(r"Created version ([0-9a-f-]{36})")
#: requests sent to the split deployment, and the allowed distance of version A's share from 10 %
SPLIT_REQUESTS = 200
#: ±7.5 points = ±15 of 200 requests, 3.5 standard deviations of a 10 % binomial (sd 4.2)
SPLIT_TOLERANCE = 0.075


def worker_adapter(info: SandboxInfo):  # type: ignore[no-untyped-def]
    """The deploycheck adapter of the sandbox's log-ingestion Worker."""
    config = load_config(CONFIG)
    return open_target(config, config.targets["CLOUDFLARE_WORKER"], "sandbox", info.environ())


def upload_version(wrangler: WranglerRun, *extra: str) -> str:
    """`wrangler versions upload --env production`; the new version's id."""
    done = wrangler("versions", "upload", "--env", "production", *extra)
    assert done.returncode == 0, done.stdout + done.stderr
    found = _UPLOADED.search(done.stdout)
    assert found is not None, done.stdout
    return found.group(1)


def stored_worker(admin: AdminClient) -> dict:  # type: ignore[type-arg]
    """What the sandbox stores for log-ingestion, secret values included."""
    return admin.state()["cloudflare"]["workers"]["log-ingestion"]


def test_versions_upload_creates_a_version_that_serves_no_traffic(
    sandbox: SandboxInfo, wrangler: WranglerRun
) -> None:
    """`versions upload` adds a version; the deployment and the version /health reports stay as they were."""
    worker = worker_adapter(sandbox)
    active = worker.active_version()
    deployments = [d.id for d in worker.list_deployments()]

    version = upload_version(wrangler, "--message", "candidate")

    assert worker.list_versions()[0].id == version
    assert worker.active_version() == active != version
    assert [d.id for d in worker.list_deployments()] == deployments
    health = requests.get(f"{sandbox.worker_url}/health", timeout=5)
    assert health.json()["version"] == active
    assert health.headers[VERSION_HEADER] == active


def test_a_split_deployment_serves_each_version_its_share_and_the_checks_warn(
    sandbox: SandboxInfo, sandbox_env: dict[str, str], wrangler: WranglerRun, tmp_path: Path
) -> None:
    """`versions deploy A@10 B@90` serves about 10 % of 200 requests from A; the Worker checks WARN
    naming both versions and percentages (and the state version each expects), and fail none."""
    worker = worker_adapter(sandbox)
    version_a = worker.active_version()
    assert version_a is not None
    version_b = upload_version(wrangler)

    done = wrangler(
        "versions", "deploy", f"{version_a}@10", f"{version_b}@90", "--env", "production", "--yes"
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"version {version_a} at 10% and version {version_b} at 90%" in done.stdout
    assert worker.list_deployments()[0].versions == ((version_a, 10.0), (version_b, 90.0))
    served: Counter[str] = Counter()
    with requests.Session() as session:
        for _ in range(SPLIT_REQUESTS):
            response = session.get(f"{sandbox.worker_url}/health", timeout=5)
            assert response.json()["version"] == response.headers[VERSION_HEADER]
            served[response.headers[VERSION_HEADER]] += 1
    assert set(served) == {version_a, version_b}
    share_a = served[version_a] / SPLIT_REQUESTS
    assert abs(share_a - 0.10) <= SPLIT_TOLERANCE, served
    pinned = requests.get(
        f"{sandbox.worker_url}/health",
        headers={"Cloudflare-Workers-Version-Overrides": f'log-ingestion="{version_a}"'},
        timeout=5,
    )
    assert pinned.headers[VERSION_HEADER] == version_a

    checks = subprocess.run(
        [sys.executable, "-m", "pytest", "checks/test_worker.py", "--env", "sandbox", "-p", "no:cacheprovider",
         "-p", "no:xdist", f"--report-dir={tmp_path}", "-q"],
        cwd=REPO, env=dict(os.environ), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert checks.returncode == 0, checks.stdout + checks.stderr
    results = {
        c["id"].split("::")[-1]: c for c in json.loads((tmp_path / "results.json").read_text())["checks"]
    }
    active = results["test_worker_active_deployment[sandbox-log-ingestion]"]
    assert active["outcome"] == "warn", active
    assert f"{version_a} 10%" in active["message"] and f"{version_b} 90%" in active["message"]
    code = results["test_worker_version[sandbox-log-ingestion]"]
    assert code["outcome"] == "warn" and f"{version_a} 10%, {version_b} 90%" in code["message"], code
    state = results["test_worker_state_version[sandbox-log-ingestion]"]
    assert state["outcome"] == "warn", state
    assert f"{version_a} (10%) expects state version 2; {version_b} (90%) expects state version 2" in state["message"]
    assert {c["outcome"] for c in results.values()} <= {"pass", "warn"}


def test_versions_secret_put_bulk_and_delete_each_create_an_undeployed_version(
    sandbox: SandboxInfo, sandbox_admin: AdminClient, wrangler: WranglerRun, tmp_path: Path
) -> None:
    """`versions secret put|bulk|delete` copy the latest version's code (content/v2) with changed
    secrets into new versions that serve no traffic until `versions deploy`."""
    worker = worker_adapter(sandbox)
    active = worker.active_version()
    value, first, second = (secrets.token_urlsafe(18) for _ in range(3))
    for secret in (value, first, second):
        register_secret(secret)

    put = wrangler("versions", "secret", "put", "REDIS_TOKEN", "--env", "production", stdin=value)
    assert put.returncode == 0, put.stdout + put.stderr
    bulk_file = tmp_path / "secrets.json"
    bulk_file.write_text(json.dumps({"FIRST_KEY": first, "SECOND_KEY": second}))
    bulk = wrangler("versions", "secret", "bulk", str(bulk_file), "--env", "production")
    assert bulk.returncode == 0, bulk.stdout + bulk.stderr
    delete = wrangler("versions", "secret", "delete", "FIRST_KEY", "--env", "production")
    assert delete.returncode == 0, delete.stdout + delete.stderr

    created = [m.group(1) for r in (put, bulk, delete) for m in _CREATED.finditer(r.stdout)]
    assert len(created) == 3, put.stdout + bulk.stdout + delete.stdout
    versions = {v["id"]: v for v in stored_worker(sandbox_admin)["versions"]}
    seeded = versions[active]
    for version_id in created:
        assert versions[version_id]["modules"] == seeded["modules"]  # the code was copied, not re-bundled
    names = [{b["name"] for b in versions[v]["bindings"]} for v in created]
    assert names[0] >= {"RATE_LIMITER", "REDIS_TOKEN"}
    assert names[1] >= {"REDIS_TOKEN", "FIRST_KEY", "SECOND_KEY"}
    assert "FIRST_KEY" not in names[2] and {"REDIS_TOKEN", "SECOND_KEY"} <= names[2]
    texts = {b["name"]: b.get("text") for b in versions[created[2]]["bindings"]}
    assert fingerprint(texts["REDIS_TOKEN"]) == fingerprint(value)
    assert fingerprint(texts["SECOND_KEY"]) == fingerprint(second)
    assert worker.active_version() == active  # nothing deployed yet

    listed = wrangler("versions", "secret", "list", "--latest-version", "--env", "production")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "Secret Name: SECOND_KEY" in listed.stdout and "FIRST_KEY" not in listed.stdout

    deploy = wrangler("versions", "deploy", f"{created[2]}@100", "--env", "production", "--yes")
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    assert requests.get(f"{sandbox.worker_url}/health", timeout=5).json()["version"] == created[2]
    assert {"REDIS_TOKEN", "SECOND_KEY"} <= set(worker.list_secrets())
