"""The ledger, the audit log, the project lock and the ledger key."""

from __future__ import annotations

import json
import stat
import threading
from pathlib import Path

import pytest

from deploycheck.errors import InputError, LockError
from deploycheck.redact import register_secret
from deploycheck.state import KEY_BYTES, Ledger, LedgerEntry, StateStore, append_audit

from .conftest import EXAMPLE_SOT


def mode_of(path: Path) -> int:
    """The permission bits of ``path``."""
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    """A state store in tmp_path."""
    return StateStore(directory=tmp_path / "state", project="app.example.com")


def test_key_is_created_once_with_mode_0600(store: StateStore) -> None:
    """The ledger key is 32 random bytes in a 0600 file, and later calls reuse it."""
    assert store.key(create=False) is None
    assert not store.directory.exists()
    key = store.key()
    assert key is not None and len(key) == KEY_BYTES
    assert mode_of(store.key_path) == 0o600
    assert store.key() == key
    assert store.key_path.name == "app.example.com.ledger.key"


def test_a_truncated_key_is_refused(store: StateStore) -> None:
    """A key file of the wrong size raises InputError instead of silently changing fingerprints."""
    store.directory.mkdir()
    store.key_path.write_bytes(b"short")
    with pytest.raises(InputError, match="32 bytes"):
        store.key()


def test_ledger_round_trip_and_read_api(store: StateStore) -> None:
    """Recorded entries survive save and load; entry() answers None for unknown keys."""
    ledger = store.ledger()
    entry = LedgerEntry("sha256:0011223344556677", "2026-01-01T00:00:00Z", marker="v1", created=True, secret=True)
    ledger.record("production", "CONVEX", "OPENAI_API_KEY", entry)
    ledger.set_target_marker("production", "CONVEX", "deploy-9")
    ledger.save()
    again = store.ledger()
    assert again.entry("production", "CONVEX", "OPENAI_API_KEY") == entry
    assert again.entry("production", "CONVEX", "OTHER") is None
    assert again.entry("sandbox", "CONVEX", "OPENAI_API_KEY") is None
    assert again.target_marker("production", "CONVEX") == "deploy-9"
    assert mode_of(store.ledger_path) == 0o600
    again.forget("production", "CONVEX", "OPENAI_API_KEY")
    assert again.entries("production", "CONVEX") == {}


def test_ledger_save_leaves_no_temporary_file(store: StateStore) -> None:
    """Saving replaces the file atomically: only the ledger itself remains in the folder."""
    ledger = store.ledger()
    for n in range(3):
        ledger.record("e", "T", f"K{n}", LedgerEntry("sha256:00", "t"))
        ledger.save()
    assert sorted(p.name for p in store.directory.iterdir()) == ["app.example.com.ledger.json"]


def test_a_crash_while_saving_keeps_the_old_ledger(store: StateStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the process dies before the rename, the previous ledger is intact and no temp file is left."""
    ledger = store.ledger()
    ledger.record("e", "T", "K", LedgerEntry("sha256:old", "t"))
    ledger.save()
    ledger.record("e", "T", "K", LedgerEntry("sha256:new", "t"))

    def crash(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("deploycheck.state.ledger.os.replace", crash)
    with pytest.raises(KeyboardInterrupt):
        ledger.save()
    monkeypatch.undo()
    assert store.ledger().entry("e", "T", "K") == LedgerEntry("sha256:old", "t")
    assert [p.name for p in store.directory.iterdir()] == ["app.example.com.ledger.json"]


def test_corrupt_ledger_is_an_input_error(store: StateStore) -> None:
    """A ledger that is not the expected JSON raises InputError with the next step."""
    store.directory.mkdir()
    store.ledger_path.write_text("{not json", "utf-8")
    with pytest.raises(InputError, match="Move the file aside"):
        store.ledger()


def test_ledger_file_never_holds_a_value(store: StateStore) -> None:
    """Entries hold fingerprints and metadata only: the JSON has no field named value."""
    ledger = Ledger(store.ledger_path)
    ledger.record("e", "T", "K", LedgerEntry("sha256:aa", "t", "m", True, True))
    ledger.save()
    text = store.ledger_path.read_text("utf-8")
    assert '"value"' not in text
    assert set(json.loads(text)["entries"]["e"]["T"][""]["K"]) == {"fingerprint", "written_at", "marker", "created", "secret"}


def test_state_dir_resolution_order(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """--state-dir beats DEPLOYCHECK_STATE_DIR, which beats config state_dir, which beats the SoT's folder."""
    config = project.config
    outside = tmp_path / "configs" / "app.env"
    outside.parent.mkdir()
    assert StateStore.for_project(config, outside, environ={}).directory == outside.parent
    env = {"DEPLOYCHECK_STATE_DIR": str(tmp_path / "from-env")}
    assert StateStore.for_project(config, outside, environ=env).directory == tmp_path / "from-env"
    flag = StateStore.for_project(config, outside, override=tmp_path / "flag", environ=env)
    assert flag.directory == tmp_path / "flag"
    text = project.config_path.read_text("utf-8") + "\nstate_dir: custom-state\n"
    project.config_path.write_text(text, "utf-8")
    assert StateStore.for_project(project.config, outside, environ={}).directory == project.root / "custom-state"


def test_state_dir_is_never_inside_the_repository(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A table inside the project (the sandbox example) puts the state under XDG_STATE_HOME instead."""
    inside = project.root / "fixtures" / "app.env"
    store = StateStore.for_project(project.config, inside, environ={"XDG_STATE_HOME": str(tmp_path / "xdg")})
    assert store.directory == tmp_path / "xdg" / "deploycheck" / "app.example.com"
    assert EXAMPLE_SOT.exists()


def test_second_holder_waits_then_gets_lock_error(store: StateStore) -> None:
    """While one run holds the lock, another waits its timeout and raises LockError naming the holder."""
    held = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with store.lock(5):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert held.wait(5)
        with pytest.raises(LockError) as caught, store.lock(0.3):
            pytest.fail("the lock was granted twice")
        assert "holds the lock" in str(caught.value) and "pid" in str(caught.value)
        assert caught.value.exit_code == 1
    finally:
        release.set()
        thread.join()
    with store.lock(1):
        assert mode_of(store.lock_path) == 0o600


def test_audit_lines_carry_who_what_when(store: StateStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each event is one JSON line with time, actor and commit added; lines accumulate."""
    monkeypatch.setenv("GITHUB_ACTOR", "release-bot")
    append_audit(store, {"event": "sync-env", "keys": {"CONVEX": [{"key": "A", "fingerprint": "sha256:1"}]}})
    store.append_audit({"event": "rollback", "result": "ok"})
    lines = [json.loads(x) for x in store.audit_path.read_text("utf-8").splitlines()]
    assert [x["event"] for x in lines] == ["sync-env", "rollback"]
    assert lines[0]["actor"] == "release-bot"
    assert lines[0]["time"].endswith("Z")
    assert "commit" in lines[0]
    assert mode_of(store.audit_path) == 0o600


def test_audit_refuses_value_fields_and_masks_secrets(store: StateStore) -> None:
    """An event with a value field is refused; a registered secret in any field is masked."""
    with pytest.raises(ValueError, match="never hold values"):
        store.append_audit({"event": "x", "keys": [{"key": "A", "value": "v"}]})
    register_secret("Zk8vQ3nR6tW9yB2eH5jM8pS1")
    store.append_audit({"event": "x", "note": "leaked Zk8vQ3nR6tW9yB2eH5jM8pS1"})
    assert "Zk8vQ3nR" not in store.audit_path.read_text("utf-8")


def entry(fp: str) -> LedgerEntry:
    """A ledger entry with fingerprint ``fp``."""
    return LedgerEntry(fingerprint=fp, written_at="2026-01-01T00:00:00Z", secret=True)


def test_entries_are_kept_per_platform_resource(tmp_path: Path) -> None:
    """An entry recorded for one resource is not found once the target points at another one."""
    ledger = Ledger(tmp_path / "ledger.json")
    ledger.bind("production", "CONVEX", "r-account-a")
    ledger.record("production", "CONVEX", "API_KEY", entry("fp-a"))
    ledger.set_target_marker("production", "CONVEX", "v1")
    ledger.save()
    again = Ledger.load(tmp_path / "ledger.json")
    again.bind("production", "CONVEX", "r-account-b")
    assert again.entry("production", "CONVEX", "API_KEY") is None
    assert again.target_marker("production", "CONVEX") is None
    again.bind("production", "CONVEX", "r-account-a")
    assert again.entry("production", "CONVEX", "API_KEY") == entry("fp-a")
    assert again.target_marker("production", "CONVEX") == "v1"


def test_version_1_entries_are_adopted_by_the_first_bound_resource(tmp_path: Path) -> None:
    """A ledger written before resources were recorded keeps working: the first binding adopts its entries."""
    path = tmp_path / "ledger.json"
    raw = {"fingerprint": "fp", "written_at": "2026-01-01T00:00:00Z", "marker": None, "created": False, "secret": True}
    path.write_text(json.dumps({"version": 1, "entries": {"production": {"GITHUB": {"TOKEN": raw}}}, "markers": {"production": {"GITHUB": "m1"}}}))
    ledger = Ledger.load(path)
    ledger.bind("production", "GITHUB", "r-repo")
    assert ledger.entry("production", "GITHUB", "TOKEN") is not None
    assert ledger.target_marker("production", "GITHUB") == "m1"
    ledger.save()
    saved = json.loads(path.read_text())
    assert saved["version"] == 2 and list(saved["entries"]["production"]["GITHUB"]) == ["r-repo"]


def test_resource_identity_names_platform_base_url_account_and_resource(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two Worker adapters differing only in account or base URL get different identities; no name is in clear."""
    from deploycheck.platforms.cloudflare import CloudflareWorkerPlatform
    from deploycheck.state import describe_resource, resource_identity

    def worker(base: str, account: str) -> CloudflareWorkerPlatform:
        env = {"CLOUDFLARE_API_BASE_URL": base, "CLOUDFLARE_API_TOKEN": "t" * 40, "CLOUDFLARE_ACCOUNT_ID": account}
        return CloudflareWorkerPlatform.from_environ(script="log-ingestion", environ=env)

    one = worker("http://127.0.0.1:1/client/v4", "a" * 32)
    assert describe_resource(one) == f"cloudflare-worker http://127.0.0.1:1/client/v4 account={'a' * 32} log-ingestion"
    others = [worker("http://127.0.0.1:2/client/v4", "a" * 32), worker("http://127.0.0.1:1/client/v4", "b" * 32)]
    identities = {resource_identity(w) for w in [one, *others]}
    assert len(identities) == 3
    assert all(i.startswith("r-") and "log-ingestion" not in i for i in identities)
