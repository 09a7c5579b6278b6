"""The s3 state backend against moto's S3 server: conditional writes, the lock, the ledger merge."""

from __future__ import annotations

import json
import threading
import time

import pytest
from botocore.exceptions import ClientError

from deploycheck.config import load_config
from deploycheck.errors import ConfigError, InputError, LockError
from deploycheck.state import LedgerEntry, check_ledger_key, key_id, open_state

from .conftest import S3Project, bucket_objects, s3_client, write_s3_config


def test_moto_server_honours_conditional_put(moto_url: str, bucket: str) -> None:
    """The server the tests use refuses If-None-Match: * on an existing key and a stale If-Match (412)."""
    client = s3_client(moto_url)
    first = client.put_object(Bucket=bucket, Key="k", Body=b"1", IfNoneMatch="*")
    with pytest.raises(ClientError) as again:
        client.put_object(Bucket=bucket, Key="k", Body=b"2", IfNoneMatch="*")
    assert again.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    second = client.put_object(Bucket=bucket, Key="k", Body=b"3", IfMatch=first["ETag"])
    with pytest.raises(ClientError) as stale:
        client.put_object(Bucket=bucket, Key="k", Body=b"4", IfMatch=first["ETag"])
    assert stale.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    with pytest.raises(ClientError) as stale_delete:
        client.delete_object(Bucket=bucket, Key="k", IfMatch=first["ETag"])
    assert stale_delete.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert client.get_object(Bucket=bucket, Key="k", IfMatch=second["ETag"])["Body"].read() == b"3"


def test_open_state_picks_the_configured_backend(s3_project: S3Project) -> None:
    """state.backend: s3 in deploycheck.yaml makes open_state return the bucket store at deploycheck/<project>/."""
    store = open_state(load_config(s3_project.config_path), s3_project.root / "x.env")
    assert store.backend == "s3"
    assert store.describe() == f"s3://{s3_project.bucket}/deploycheck/app.example.com/"


def test_state_section_is_validated_like_the_rest(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A bad state: section is a ConfigError naming the line, the key path and the valid choices."""
    path = write_s3_config(tmp_path, "b", "http://127.0.0.1:1", "  lock_tll: 30\n")
    text = path.read_text().replace("backend: s3", "backend: s4")
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "state.backend" in message and "valid: local, s3" in message
    assert "state.lock_tll" in message and "lock_ttl" in message
    lines = text.splitlines()
    assert f"deploycheck.yaml:{lines.index('  backend: s4') + 1}:" in message
    bucketless = tmp_path / "other"
    path = write_s3_config(bucketless, "b", "http://127.0.0.1:1")
    path.write_text(path.read_text().replace("  bucket: b\n", ""))
    with pytest.raises(ConfigError, match="'bucket' is a required property"):
        load_config(path)


def test_lock_is_exclusive_and_names_its_holder(s3_project: S3Project) -> None:
    """While one store holds the lock, another waits its timeout and refuses naming user, host and purpose."""
    alice = s3_project.store({"USER": "alice", "GITHUB_RUN_ID": "77", "GITHUB_REPOSITORY": "example/app"})
    bob = s3_project.store({"USER": "bob"})
    with alice.lock(1, purpose="sync-env deploy-prod production"):
        lock = json.loads(bucket_objects(s3_project.endpoint, s3_project.bucket)["deploycheck/app.example.com/lock.json"])
        started = time.monotonic()
        with pytest.raises(LockError) as refused, bob.lock(0.6, purpose="other"):
            pass
        assert time.monotonic() - started >= 0.6
    message = str(refused.value)
    assert lock["owner"]["user"] in message and "sync-env deploy-prod production" in message
    assert "https://github.com/example/app/actions/runs/77" in message
    assert "state unlock --force" in message
    with bob.lock(0.5, purpose="after"):
        pass  # released: free to take at once
    assert "deploycheck/app.example.com/lock.json" not in bucket_objects(s3_project.endpoint, s3_project.bucket)


def test_waiting_run_gets_the_lock_when_the_holder_releases(s3_project: S3Project) -> None:
    """A second store waiting within --lock-timeout takes the lock as soon as the first one releases it."""
    first, second = s3_project.store(), s3_project.store()
    order: list[str] = []
    held = threading.Event()

    def hold() -> None:
        with first.lock(1, purpose="first"):
            held.set()
            time.sleep(0.8)
            order.append("first released")

    thread = threading.Thread(target=hold)
    thread.start()
    assert held.wait(5)
    with second.lock(10, purpose="second"):
        order.append("second took")
    thread.join()
    assert order == ["first released", "second took"]


def test_lock_is_renewed_with_if_match_and_a_broken_lock_stops_writes(s3_project: S3Project) -> None:
    """Renewing rewrites the lock under If-Match; once it is broken, renewing and saving the ledger raise LockError."""
    store = s3_project.store()
    other = s3_project.store({"USER": "breaker"})
    with store.lock(1, purpose="sync"):
        assert store.lease is not None
        before = store.lease.etag
        store.ensure_locked()
        assert store.lease.etag != before
        assert "broke the lock" in other.unlock(force=True)
        ledger = store.ledger()
        ledger.record("production", "T", "K", LedgerEntry("fp", "2026-01-01T00:00:00Z"))
        with pytest.raises(LockError, match="lost the lock"):
            ledger.save()
        with pytest.raises(LockError, match="lost the lock"):
            store.ensure_locked()
    objects = bucket_objects(s3_project.endpoint, s3_project.bucket)
    assert "deploycheck/app.example.com/ledger.json" not in objects
    audit = [json.loads(v) for k, v in objects.items() if "/audit/" in k]
    assert [(e["operation"], e["forced"], e["broken_purpose"]) for e in audit] == [("unlock", True, "sync")]


def test_ledger_is_never_written_without_the_lock(s3_project: S3Project) -> None:
    """Saving an s3 ledger outside a held lock raises LockError and writes no object."""
    ledger = s3_project.store().ledger()
    ledger.record("production", "T", "K", LedgerEntry("fp", "2026-01-01T00:00:00Z"))
    with pytest.raises(LockError, match="without holding the project lock"):
        ledger.save()
    assert bucket_objects(s3_project.endpoint, s3_project.bucket) == {}


def test_expired_lock_is_taken_over_and_recorded(s3_project: S3Project) -> None:
    """A lock past its expiry (its holder died) is taken over with If-Match, and the audit log says so."""
    dead = s3_project.store({"USER": "crashed"})
    dead.lock_ttl = 0.5
    context = dead.lock(1, purpose="crashed sync")
    context.__enter__()  # never released: the process "died"
    assert dead.lease is not None
    dead.lease.lost = "simulated crash"  # the dead process's heartbeat renews nothing any more
    time.sleep(0.7)
    survivor = s3_project.store({"USER": "survivor"})
    with survivor.lock(5, purpose="next sync"):
        current = survivor.read_lock()
        assert current is not None and current[0]["owner"]["user"] == "survivor"
    audit = survivor.read_audit()
    assert [e["operation"] for e in audit] == ["lock-takeover"]
    assert audit[0]["expired_holder"]["user"] == "crashed"


def test_concurrent_ledger_writers_merge_and_lose_nothing(s3_project: S3Project) -> None:
    """Two copies saved from the same ETag: the second write conflicts, re-reads, merges; both entries survive."""
    store = s3_project.store()
    with store.lock(1, purpose="merge test"):
        a, b = store.ledger(), store.ledger()
        a.record("production", "CONVEX", "A_KEY", LedgerEntry("fp-a", "2026-01-01T00:00:00Z"))
        b.record("production", "GITHUB", "B_KEY", LedgerEntry("fp-b", "2026-01-01T00:00:01Z"))
        b.forget("production", "GITHUB", "NEVER_THERE")
        a.save()
        b.save()
        a.record("production", "CONVEX", "A_TWO", LedgerEntry("fp-a2", "2026-01-01T00:00:02Z"))
        a.save()  # a's ETag is stale now too
    final = store.ledger()
    assert final.entry("production", "CONVEX", "A_KEY") is not None
    assert final.entry("production", "CONVEX", "A_TWO") is not None
    assert final.entry("production", "GITHUB", "B_KEY") is not None
    assert final.key_id == key_id(bytes.fromhex(s3_project.ledger_key))


def test_ledger_key_is_never_stored_and_a_wrong_key_is_not_drift(s3_project: S3Project) -> None:
    """The bucket holds the key's public id only; another key or no key is an InputError naming the variable."""
    store = s3_project.store()
    with store.lock(1, purpose="t"):
        ledger = store.ledger()
        ledger.record("production", "T", "K", LedgerEntry("fp", "2026-01-01T00:00:00Z"))
        ledger.save()
    for body in bucket_objects(s3_project.endpoint, s3_project.bucket).values():
        assert s3_project.ledger_key not in body.decode()
        assert s3_project.ledger_key[:8] not in body.decode()
    ledger = store.ledger()
    with pytest.raises(InputError, match=r"not the team's key") as wrong:
        check_ledger_key(ledger, bytes(32), store.describe(), required=True)
    assert "DEPLOYCHECK_LEDGER_KEY" in str(wrong.value) and "not drift" in str(wrong.value)
    with pytest.raises(InputError, match="is not set"):
        check_ledger_key(ledger, None, store.describe(), required=True)
    check_ledger_key(ledger, bytes.fromhex(s3_project.ledger_key), store.describe(), required=True)


def test_malformed_ledger_key_is_bad_input(s3_project: S3Project) -> None:
    """DEPLOYCHECK_LEDGER_KEY that is not 64 hex characters is refused without echoing it."""
    with pytest.raises(InputError) as caught:
        s3_project.store({"DEPLOYCHECK_LEDGER_KEY": "not-hex-but-a-secret-phrase"})
    assert "64 hex characters" in str(caught.value)
    assert "secret-phrase" not in str(caught.value)


def test_state_show_and_unlock_commands(s3_project: S3Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """`state show` names the bucket and the holder; `state unlock` without --force exits 1, with it breaks the lock."""
    from deploycheck.cli import main

    monkeypatch.setenv("DEPLOYCHECK_LEDGER_KEY", s3_project.ledger_key)
    holder = s3_project.store({"USER": "ci-runner"})
    base = ["--config", str(s3_project.config_path)]
    with holder.lock(1, purpose="sync-env deploy-prod production"):
        assert main(["state", "show", *base]) == 0
        shown = capsys.readouterr().out
        assert f"backend: s3 (s3://{s3_project.bucket}/deploycheck/app.example.com/)" in shown
        assert "lock: held by ci-runner on" in shown
        assert main(["state", "unlock", *base]) == 1
        assert "Pass --force" in capsys.readouterr().out
        assert main(["state", "unlock", "--force", *base]) == 0
        assert "broke the lock" in capsys.readouterr().out
        assert holder.lease is not None
        with pytest.raises(LockError):
            holder.ensure_locked()
    assert main(["state", "show", *base]) == 0
    assert "lock: free" in capsys.readouterr().out
