"""Faults of the s3 state bucket x sync-env: retried where safe, never a half-written ledger, never unlocked.

deploycheck reaches moto's S3 server through :class:`~.s3_faults.S3FaultProxy`, which
injects one fault per case. After every case: the command ended within its deadline
with the documented exit code and a message naming the bucket and the operation; the
ledger object is absent or whole and truthful (each fingerprint is what the platform
holds); no canary, token, ledger key or credential is in any output or bucket object;
and a re-run once the fault is gone converges with drift clean.
"""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path
from typing import Any

import pytest

from deploycheck.redact import fingerprint
from s3_server import AWS, bucket_objects, s3_client

from .conftest import CONFIG, DEADLINE_S, Workspace, expected_prod, holds, leaks, platform_values
from .s3_faults import Rule, S3FaultProxy, fault_proxy

pytestmark = pytest.mark.sandbox
PREFIX = "deploycheck/app.example.com/"
LEDGER = rf"/{PREFIX}ledger\.json"
LOCK = rf"/{PREFIX}lock\.json"
SYNC = ["sync-env", "--mode=deploy-prod", "--env", "sandbox", "--yes"]


def tag(request: pytest.FixtureRequest, fault: str, column: str = "sync-env") -> None:
    """Count this test in the "s3 state bucket" table."""
    request.node.user_properties.append(("reliability-cell", f"s3 state bucket|{fault}|{column}"))


@pytest.fixture
def proxy(moto_url: str) -> Any:
    """The fault proxy in front of moto."""
    with fault_proxy(moto_url) as started:
        yield started


@pytest.fixture
def bucket_env(
    workspace: Workspace, bucket: str, proxy: S3FaultProxy, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> dict[str, str]:
    """A config whose state: is the bucket behind the proxy, the shared ledger key and test credentials."""
    config = tmp_path / "project" / "deploycheck.yaml"
    config.parent.mkdir()
    shutil.copy(CONFIG, config)
    with config.open("a") as handle:
        handle.write(f"\nstate:\n  backend: s3\n  bucket: {bucket}\n  endpoint_url: {proxy.url}\n  lock_ttl: 30\n")
    key = secrets.token_hex(32)
    env = {**AWS, "DEPLOYCHECK_LEDGER_KEY": key, "CONFIG": str(config), "BUCKET": bucket}
    for name, value in env.items():
        if name not in ("CONFIG", "BUCKET"):
            monkeypatch.setenv(name, value)
    return env


def args(env: dict[str, str], *argv: str) -> list[str]:
    """``argv`` with the bucket config."""
    return [*argv, "--config", env["CONFIG"]]


def bucket_ledger(moto_url: str, env: dict[str, str]) -> dict[str, Any] | None:
    """The ledger object as JSON, or None when there is none; fails when it does not parse (half-written)."""
    body = bucket_objects(moto_url, env["BUCKET"]).get(f"{PREFIX}ledger.json")
    return None if body is None else dict(json.loads(body))


def untruthful(ledger: dict[str, Any] | None, state: dict[str, Any], key: bytes) -> list[str]:
    """Ledger entries whose fingerprint is not what the platform holds."""
    if ledger is None:
        return []
    values = platform_values(state)
    wrong = []
    for target, by_resource in ledger["entries"].get("sandbox", {}).items():
        for keys in by_resource.values():
            for name, entry in keys.items():
                held = values.get(target, {}).get(name)
                if held is None or fingerprint(held, key) != entry["fingerprint"]:
                    wrong.append(f"{target}.{name}")
    return wrong


def assert_clean(run: Any, workspace: Workspace, moto_url: str, env: dict[str, str], admin: Any) -> None:
    """No secret in the output or any bucket object; the ledger whole and truthful."""
    hidden = [*workspace.secrets(), env["DEPLOYCHECK_LEDGER_KEY"], AWS["AWS_SECRET_ACCESS_KEY"]]
    assert leaks(run.text, hidden) == []
    for name, body in bucket_objects(moto_url, env["BUCKET"]).items():
        assert leaks(body.decode("utf-8", "replace"), hidden) == [], name
    ledger = bucket_ledger(moto_url, env)
    assert untruthful(ledger, admin.state(), bytes.fromhex(env["DEPLOYCHECK_LEDGER_KEY"])) == []


def converge(run_cli: Any, workspace: Workspace, env: dict[str, str], admin: Any, proxy: S3FaultProxy) -> None:
    """With the faults gone, a re-run syncs everything and drift finds nothing."""
    proxy.rules.clear()
    again = run_cli(args(env, *SYNC))
    assert again.code == 0, again.text
    assert holds(admin.state(), workspace.sot) == expected_prod(workspace.sot)
    drift = run_cli(args(env, "drift", "--env", "sandbox", "--format", "json"))
    assert drift.code == 0, drift.text
    assert json.loads(drift.out)["summary"]["findings"] == 0


RECOVERED = {
    "503-then-ok": Rule("GET", LEDGER, status=503, count=1),
    "429-retry-after": Rule("PUT", LOCK, status=429, retry_after="1", count=1),
    "500-then-ok": Rule("PUT", LEDGER, status=500, count=1),
    "timeout": Rule("PUT", LEDGER, delay=1.6, count=1),
}


@pytest.mark.parametrize("fault", sorted(RECOVERED))
def test_transient_bucket_fault_is_retried(fault, workspace, bucket_env, proxy, moto_url, run_cli, admin, request) -> None:  # type: ignore[no-untyped-def]
    """A transient fault (5xx, 429 with Retry-After, a timeout) is retried within the budget; the sync completes."""
    tag(request, fault)
    rule = RECOVERED[fault]
    proxy.add(Rule(**{**rule.__dict__}))
    run = run_cli(args(bucket_env, *SYNC))
    assert run.seconds < DEADLINE_S
    assert run.code == 0, run.text
    assert any(status >= 400 for _, _, status in proxy.log) or fault == "timeout"
    if fault == "429-retry-after":
        assert run.seconds >= 1.0  # Retry-After was honoured
    assert holds(admin.state(), workspace.sot) == expected_prod(workspace.sot)
    ledger = bucket_ledger(moto_url, bucket_env)
    assert ledger is not None and sum(len(k) for r in ledger["entries"]["sandbox"].values() for k in r.values()) == 20
    assert_clean(run, workspace, moto_url, bucket_env, admin)
    assert "lock.json" not in " ".join(bucket_objects(moto_url, bucket_env["BUCKET"]))  # released


def test_persistent_500_on_the_ledger_leaves_no_half_written_ledger(workspace, bucket_env, proxy, moto_url, run_cli, admin, request) -> None:  # type: ignore[no-untyped-def]
    """Every ledger write failing: exit 3 naming the bucket and the write; no ledger object; a re-run converges."""
    tag(request, "500")
    proxy.add(Rule("PUT", LEDGER, status=500, count=1000))
    run = run_cli(args(bucket_env, *SYNC))
    assert run.seconds < DEADLINE_S
    assert run.code == 3, run.text
    assert "s3 state bucket" in run.err and f"s3://{bucket_env['BUCKET']}/{PREFIX}ledger.json" in run.err
    assert ("still failing after 2 retries" in run.err or "retry budget" in run.err) and "Next step" in run.err
    assert bucket_ledger(moto_url, bucket_env) is None
    assert_clean(run, workspace, moto_url, bucket_env, admin)
    converge(run_cli, workspace, bucket_env, admin, proxy)


def test_lock_that_cannot_be_taken_stops_the_sync_before_any_write(workspace, bucket_env, proxy, moto_url, run_cli, admin, request) -> None:  # type: ignore[no-untyped-def]
    """The lock cannot be written (500): exit 3, no platform write, nothing in the bucket."""
    tag(request, "500-on-lock")
    proxy.add(Rule("PUT", LOCK, status=500, count=1000))
    run = run_cli(args(bucket_env, *SYNC))
    assert run.code == 3, run.text
    assert "lock.json" in run.err
    assert admin.writes() == []
    assert bucket_objects(moto_url, bucket_env["BUCKET"]) == {}
    assert_clean(run, workspace, moto_url, bucket_env, admin)


def test_etag_conflict_merges_the_other_writers_entries(workspace, bucket_env, proxy, moto_url, run_cli, admin, request) -> None:  # type: ignore[no-untyped-def]
    """Another writer creates the ledger between our read and our write: the write conflicts, merges, keeps both."""
    tag(request, "etag-conflict")
    foreign = {
        "version": 2,
        "entries": {"staging": {"CONVEX": {"r-0000000000000000": {"OTHER_KEY": {"fingerprint": "hmac:x", "written_at": "2026-01-01T00:00:00Z", "marker": None, "created": True, "secret": True}}}}},
        "markers": {},
    }

    def other_writer() -> None:
        s3_client(moto_url).put_object(Bucket=bucket_env["BUCKET"], Key=f"{PREFIX}ledger.json", Body=json.dumps(foreign).encode())

    proxy.add(Rule("PUT", LEDGER, before=other_writer, count=1))
    run = run_cli(args(bucket_env, *SYNC))
    assert run.code == 0, run.text
    ledger = bucket_ledger(moto_url, bucket_env)
    assert ledger is not None
    assert "OTHER_KEY" in ledger["entries"]["staging"]["CONVEX"]["r-0000000000000000"]
    assert sum(len(k) for r in ledger["entries"]["sandbox"].values() for k in r.values()) == 20
    assert [s for m, p, s in proxy.log if m == "PUT" and "ledger.json" in p][:2] == [412, 200]
    assert_clean(run, workspace, moto_url, bucket_env, admin)


def test_lost_lock_stops_every_write(workspace, bucket_env, proxy, moto_url, run_cli, admin, request) -> None:  # type: ignore[no-untyped-def]
    """The lock is broken (unlock --force elsewhere) before the first renewal: exit 1, no platform write, no ledger."""
    tag(request, "lost-lock")

    def operator_breaks_the_lock() -> None:
        s3_client(moto_url).delete_object(Bucket=bucket_env["BUCKET"], Key=f"{PREFIX}lock.json")

    proxy.add(Rule("PUT", LOCK, header="If-Match", before=operator_breaks_the_lock, count=1))
    run = run_cli(args(bucket_env, *SYNC))
    assert run.code == 1, run.text
    assert "LockError" in run.err and "lost the lock" in run.err
    assert admin.writes() == []
    assert bucket_ledger(moto_url, bucket_env) is None
    assert_clean(run, workspace, moto_url, bucket_env, admin)
    converge(run_cli, workspace, bucket_env, admin, proxy)


def test_bucket_objects_hold_no_secret(workspace, bucket_env, proxy, moto_url, run_cli, admin, request) -> None:  # type: ignore[no-untyped-def]
    """After sync, drift, unlock and migrate-free use, no bucket object holds a canary, token, key or credential."""
    request.node.user_properties.append(("reliability-cell", "secrets|bucket objects: no secret, no ledger key|result"))
    assert run_cli(args(bucket_env, *SYNC)).code == 0
    drift = run_cli(args(bucket_env, "drift", "--env", "sandbox"))
    assert drift.code == 0, drift.text
    unlock = run_cli(args(bucket_env, "state", "unlock", "--force"))
    assert unlock.code == 0, unlock.text
    objects = bucket_objects(moto_url, bucket_env["BUCKET"])
    assert {k.rsplit("/", 1)[0] for k in objects} == {PREFIX.rstrip("/"), f"{PREFIX}audit"}
    hidden = [*workspace.secrets(), bucket_env["DEPLOYCHECK_LEDGER_KEY"], AWS["AWS_SECRET_ACCESS_KEY"]]
    for name, body in objects.items():
        assert leaks(body.decode("utf-8", "replace"), hidden) == [], name
    assert_clean(drift, workspace, moto_url, bucket_env, admin)
